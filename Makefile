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

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)
	cp bin/docker-machine $(DESTDIR)$(BINDIR)/docker-machine
	for p in $(filter-out bin/docker-machine,$(PROGS)); do cp $$p $(DESTDIR)$(LIBEXECDIR)/; \
	  ln -sf $(LIBEXECDIR)/$${p##*/} $(DESTDIR)$(BINDIR)/$${p##*/}; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/docker-machine
	for p in $(filter-out bin/docker-machine,$(PROGS)); do rm -f $(DESTDIR)$(LIBEXECDIR)/$${p##*/} \
	  $(DESTDIR)$(BINDIR)/$${p##*/}; done
	-rmdir $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -f $(LIB) lib/*.o bin/*.o drivers/*.o tests/unit/*.o $(PROGS) $(UNIT) .build-id

.PHONY: all check unit bench install uninstall clean FORCE
.SECONDARY: $(LIB_OBJ)
