# dm build configuration; override on the command line (make PREFIX=/opt/dm).
VERSION   = 0.16.2
PREFIX    = /usr/local
BINDIR    = $(PREFIX)/bin
LIBEXECDIR = $(PREFIX)/libexec/dm
MANDIR    = $(PREFIX)/share/man
DATADIR   = $(PREFIX)/share

PKG_CONFIG ?= pkg-config
PKGS      = libcurl openssl libssh2 jansson libxml-2.0

CC       ?= cc
CFLAGS   ?= -O2 -g
WFLAGS    = -Wall -Wextra -Wshadow -Wno-unused-parameter -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -D_GNU_SOURCE -Ilib
DM_CFLAGS = -std=c11 $(WFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
DM_LDFLAGS = -Wl,--as-needed
DM_LIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread
