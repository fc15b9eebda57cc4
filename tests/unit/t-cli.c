/* t-cli: machine names from arguments and stdin, the command line, the catalogue. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "tap.h"

/* Run cli_names with `input` on stdin; return the names joined by ',' or "ERR:msg". */
static char *names_from(const char *input, const char *const *args, int allow_default,
                        const struct store *st)
{
	char path[512];
	struct strvec av = STRVEC_INIT, out = STRVEC_INIT;
	struct strbuf sb = STRBUF_INIT;
	int fd, saved = dup(0);
	snprintf(path, sizeof(path), "%s/stdin", tap_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (write(fd, input, strlen(input)) < 0)
		abort();
	close(fd);
	fd = open(path, O_RDONLY);
	dup2(fd, 0);
	close(fd);
	for (; *args; args++)
		sv_push(&av, *args);
	if (cli_names(st, &av, allow_default, &out) < 0)
		sb_addf(&sb, "ERR:%s", dm_strerr());
	else
		for (size_t i = 0; i < out.n; i++)
			sb_addf(&sb, "%s%s", i ? "," : "", out.v[i]);
	dup2(saved, 0);
	close(saved);
	sv_clear(&av);
	sv_clear(&out);
	return sb_detach(&sb);
}

int main(void)
{
	struct store st;
	char *base = xasprintf("%s/store", tap_tmpdir());
	static const char *const dash[] = { "-", NULL }, *const two[] = { "a", "b", NULL },
	                         *const none[] = { NULL }, *const mixed[] = { "a", "-", "z", NULL };
	char *got;

	ok(store_init(&st, base) == 0, "store");
	got = names_from("", two, 1, &st);
	is_str(got, "a,b", "arguments as they are");
	free(got);
	got = names_from("n1\n\n  n2  \r\n", dash, 0, &st);
	is_str(got, "n1,n2", "stdin: one name per line, blanks skipped");
	free(got);
	got = names_from("{\"Name\":\"j1\",\"State\":\"Running\"}\n{\"Name\":\"j2\"}\n", dash, 0, &st);
	is_str(got, "j1,j2", "stdin: JSON Lines from --json");
	free(got);
	got = names_from("[{\"Name\":\"x\"},\"y\"]", dash, 0, &st);
	is_str(got, "x,y", "stdin: a JSON array");
	free(got);
	got = names_from("m\n", mixed, 0, &st);
	is_str(got, "a,m,z", "- among arguments keeps its place");
	free(got);
	got = names_from("{\"State\":\"x\"}\n", dash, 0, &st);
	is_str(got, "ERR:stdin: JSON object without a \"Name\" member", "object without Name");
	free(got);
	got = names_from("{bad\n", dash, 0, &st);
	ok(!strncmp(got, "ERR:stdin: ", 11), "bad JSON: %s", got);
	free(got);
	got = names_from("", none, 1, &st);
	is_str(got, "ERR:Error: No machine name(s) specified and no \"default\" machine exists",
	       "no names, no default");
	free(got);

	ok(cmd_info_find("ls") && !strcmp(cmd_info_find("ls")->usage, "List machines"), "catalogue");
	ok(cmd_info_find("nosuch") == NULL, "unknown command");
	is_str(dm_commands[0].name, "active", "help order starts with active");

	char *argv1[] = { (char *)"/opt/my dir/docker-machine", (char *)"env", (char *)"n1", NULL };
	unsetenv("DM_CMDLINE");
	cli_set_argv(3, argv1);
	is_str(cli_cmdline(), "\"/opt/my dir/docker-machine\" env n1", "argv[0] with a space is quoted");
	store_free(&st);
	free(base);
	return done_testing();
}
