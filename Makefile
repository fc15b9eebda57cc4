# dm — Docker Machine as a toolkit of small C programs.
include config.mk

BUILD_ID := $(shell git rev-parse --short=8 HEAD 2>/dev/null || echo unknown)

LIB_SRC  = $(sort $(wildcard lib/*.c))
LIB_OBJ  = $(LIB_SRC:.c=.o)
LIB      = lib/libdm.a

BIN_SRC  = $(sort $(wildcard bin/*.c))
DRV_SRC  = $(sort $(wildcard drivers/*.c))
BIN      = $(BIN_SRC:.c=)
DRIVERS  = $(DRV_SRC:.c=)
PROGS    = $(BIN) $(DRIVERS)

UNIT_SRC = $(sort $(wildcard tests/unit/t-*.c))
UNIT     = $(UNIT_SRC:.c=)

all: $(PROGS)

lib/version.o: CPPFLAGS += -DDM_VERSION='"$(VERSION)"' -DDM_BUILD='"$(BUILD_ID)"' \
	-DDM_LIBEXECDIR='"$(LIBEXECDIR)"'
lib/version.o: .build-id

.build-id: FORCE
	@echo '$(BUILD_ID) $(LIBEXECDIR)' | cmp -s - $@ || echo '$(BUILD_ID) $(LIBEXECDIR)' > $@

%.o: %.c lib/*.h
	$(CC) $(CPPFLAGS) $(DM_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

bin/%: bin/%.o $(LIB)
	$(CC) $(CFLAGS) $(DM_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(DM_LIBS)

drivers/%: drivers/%.o $(LIB)
	$(CC) $(CFLAGS) $(DM_LDFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(DM_LIBS)

tests/unit/%: tests/unit/%.o tests/unit/tap.o $(LIB)
	$(CC) $(CFLAGS) $(DM_LDFLAGS) $(LDFLAGS) -o $@ $< tests/unit/tap.o $(LIB) $(DM_LIBS)

tests/unit/tap.o: tests/unit/tap.c tests/unit/tap.h
	$(CC) $(CPPFLAGS) $(DM_CFLAGS) $(CFLAGS) -c -o $@ $<

# The test command of the README: installs what is missing, builds, runs every tier.
check:
	@tests/deps.sh
	@$(MAKE) --no-print-directory all $(UNIT)
	@tests/run.sh

unit: all $(UNIT)
	@tests/run.sh unit

bench: all
	@bench/run.sh

MAN1 = $(wildcard man/*.1)
MAN7 = $(wildcard man/*.7)
BASHCOMPDIR ?= $(or $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) \
	--variable=completionsdir bash-completion 2>/dev/null),$(DATADIR)/bash-completion/completions)
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
PSCOMPDIR   ?= $(DATADIR)/dm/completions
COMP_NAMES  = $(filter-out docker-machine,$(shell sed -n 's/^complete -F _docker_machine //p' \
	completions/docker-machine.bash))

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) \
	  $(DESTDIR)$(FISHCOMPDIR) $(DESTDIR)$(PSCOMPDIR)
	cp bin/docker-machine $(DESTDIR)$(BINDIR)/docker-machine
	for p in $(filter-out bin/docker-machine,$(PROGS)); do cp $$p $(DESTDIR)$(LIBEXECDIR)/; \
	  ln -sf $(LIBEXECDIR)/$${p##*/} $(DESTDIR)$(BINDIR)/$${p##*/}; done
	cp $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	cp $(MAN7) $(DESTDIR)$(MANDIR)/man7/
	cp completions/docker-machine.bash $(DESTDIR)$(BASHCOMPDIR)/docker-machine
	cp completions/_docker-machine $(DESTDIR)$(ZSHCOMPDIR)/_docker-machine
	cp completions/docker-machine.fish $(DESTDIR)$(FISHCOMPDIR)/docker-machine.fish
	cp completions/docker-machine.ps1 $(DESTDIR)$(PSCOMPDIR)/docker-machine.ps1
	for n in $(COMP_NAMES); do ln -sf docker-machine $(DESTDIR)$(BASHCOMPDIR)/$$n; \
	  ln -sf docker-machine.fish $(DESTDIR)$(FISHCOMPDIR)/$$n.fish; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/docker-machine
	for p in $(filter-out bin/docker-machine,$(PROGS)); do rm -f $(DESTDIR)$(LIBEXECDIR)/$${p##*/} \
	  $(DESTDIR)$(BINDIR)/$${p##*/}; done
	for f in $(MAN1); do rm -f $(DESTDIR)$(MANDIR)/man1/$${f##*/}; done
	for f in $(MAN7); do rm -f $(DESTDIR)$(MANDIR)/man7/$${f##*/}; done
	rm -f $(DESTDIR)$(BASHCOMPDIR)/docker-machine $(DESTDIR)$(ZSHCOMPDIR)/_docker-machine \
	  $(DESTDIR)$(FISHCOMPDIR)/docker-machine.fish $(DESTDIR)$(PSCOMPDIR)/docker-machine.ps1
	for n in $(COMP_NAMES); do rm -f $(DESTDIR)$(BASHCOMPDIR)/$$n $(DESTDIR)$(FISHCOMPDIR)/$$n.fish; done
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(PSCOMPDIR) 2>/dev/null

# The README's main command: create a local machine and talk to its engine.
demo:
	@tests/deps.sh
	@$(MAKE) --no-print-directory all
	@tests/demo.sh

# The guest image for the qemu driver (cached outside the tree).
image:
	@tests/deps.sh
	@tools/build-image.sh

# Regenerate the committed completions and man pages from the option tables.
generated: all
	tools/gen-completions.sh
	tools/gen-man.sh

clean:
	rm -f $(LIB) lib/*.o bin/*.o drivers/*.o tests/unit/*.o $(PROGS) $(UNIT) .build-id

.PHONY: all check unit bench install uninstall clean demo image generated FORCE
.SECONDARY:
