/* complete.c - candidates for the shell completions. See complete.h. */
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "complete.h"
#include "driver.h"
#include "proc.h"
#include "store.h"

static void emit(FILE *f, const char *prefix, const char *word)
{
	if (str_starts(word, prefix))
		fprintf(f, "%s\n", word);
}

static void emit_words(FILE *f, const char *prefix, const char *words)
{
	while (*words) {
		size_t n = strcspn(words, " ");
		if (n && !strncmp(words, prefix, strlen(prefix) < n ? strlen(prefix) : n) &&
		    strlen(prefix) <= n)
			fprintf(f, "%.*s\n", (int)n, words);
		words += n;
		while (*words == ' ')
			words++;
	}
}

static void emit_machines(FILE *f, const char *before, const char *prefix)
{
	struct store st;
	struct strvec names = STRVEC_INIT;
	if (cli_store(&st) < 0)
		return;
	if (store_list(&st, &names) == 0)
		for (size_t i = 0; i < names.n; i++)
			if (str_starts(names.v[i], prefix))
				fprintf(f, "%s%s\n", before, names.v[i]);
	sv_clear(&names);
	store_free(&st);
}

void complete_values(enum opt_comp kind, const char *values, const char *prefix, FILE *f)
{
	struct strvec drivers = STRVEC_INIT;
	switch (kind) {
	case COMP_NONE:
		break;
	case COMP_MACHINE:
		emit_machines(f, "", prefix);
		break;
	case COMP_FILE:
		fputs(":files\n", f);
		break;
	case COMP_DIR:
		fputs(":dirs\n", f);
		break;
	case COMP_DRIVER:
		driver_list(&drivers);
		for (size_t i = 0; i < drivers.n; i++)
			emit(f, prefix, drivers.v[i]);
		sv_clear(&drivers);
		break;
	case COMP_SHELL:
		emit_words(f, prefix, "bash cmd emacs fish powershell sh tcsh zsh");
		break;
	case COMP_LIST:
		emit_words(f, prefix, values ? values : "");
		break;
	case COMP_COMMAND:
		for (const struct cmd_info *c = dm_commands; c->name; c++)
			emit(f, prefix, c->name);
		break;
	case COMP_FILTER: {
		const char *eq = strchr(prefix, '=');
		if (!eq) {
			emit_words(f, prefix, "driver= label= name= state= swarm=");
			break;
		}
		size_t kl = (size_t)(eq - prefix);
		char *key = xstrndup(prefix, kl);
		const char *val = eq + 1;
		if (!strcmp(key, "name") || !strcmp(key, "swarm")) {
			char *before = xasprintf("%s=", key);
			emit_machines(f, before, val);
			free(before);
		} else if (!strcmp(key, "driver")) {
			driver_list(&drivers);
			for (size_t i = 0; i < drivers.n; i++)
				if (str_starts(drivers.v[i], val))
					fprintf(f, "driver=%s\n", drivers.v[i]);
			sv_clear(&drivers);
		} else if (!strcmp(key, "state")) {
			for (int i = 1; dm_states[i]; i++)
				if (str_starts(dm_states[i], val))
					fprintf(f, "state=%s\n", dm_states[i]);
		}
		free(key);
		break;
	}
	}
}

/* Hand completion of "CMD WORDS..." to dm-CMD. */
static int complete_exec(const char *cmd, int n, char **words)
{
	char *name = xasprintf("dm-%s", cmd), *bin = proc_find_libexec(name);
	char **av;
	if (!bin)
		return 0;
	av = xcalloc((size_t)n + 3, sizeof(*av));
	av[0] = name;
	av[1] = (char *)"__complete";
	for (int i = 0; i < n; i++)
		av[i + 2] = words[i];
	execv(bin, av);
	return 0;
}

static const struct opt *flag_wanting_value(const struct cmd_spec *spec, const char *word)
{
	const struct opt *o;
	if (word[0] != '-' || strchr(word, '='))
		return NULL;
	o = opts_find(spec, word);
	return o && o->type != OPT_BOOL ? o : NULL;
}

int complete_main(const struct cmd_spec *spec, int n, char **words)
{
	const char *cur = n > 0 ? words[n - 1] : "";
	int i, npos = 0;
	const struct opt *o;

	/* Walk the words before cur: skip flags (and their values), count positionals. */
	int first = -1;
	for (i = 0; i < n - 1; i++) {
		const char *w = words[i];
		if (spec->raw_args && npos > 0)
			break;
		if (!strcmp(w, "--"))
			break;
		if (w[0] == '-' && w[1]) {
			if (flag_wanting_value(spec, w))
				i++;
			continue;
		}
		if (first < 0)
			first = i;
		npos++;
		if (spec->args == COMP_COMMAND) {
			/* The dispatcher: hand over to dm-CMD __complete. */
			fflush(stdout);
			if (!cmd_info_find(w))
				return 0;
			return complete_exec(w, n - i - 1, words + i + 1);
		}
	}
	if (spec->raw_args && npos > 0) {
		/* ssh: right after the machine name, offer "--"; then nothing. */
		if (first == n - 2 && !*cur)
			puts("--");
		return 0;
	}
	if (n >= 2 && (o = flag_wanting_value(spec, words[n - 2]))) {
		complete_values(o->comp, o->values, cur, stdout);
		return 0;
	}
	if (cur[0] == '-') {
		const char *eq = strchr(cur, '=');
		if (eq && (o = opts_find(spec, cur)) && o->type != OPT_BOOL) {
			char *before = xstrndup(cur, (size_t)(eq - cur + 1));
			if (o->comp == COMP_FILE || o->comp == COMP_DIR)
				complete_values(o->comp, NULL, eq + 1, stdout);
			else {
				/* prefix each candidate with "--flag=" */
				char *tmp;
				size_t len;
				FILE *mem = open_memstream(&tmp, &len);
				complete_values(o->comp, o->values, eq + 1, mem);
				fclose(mem);
				for (char *line = strtok(tmp, "\n"); line; line = strtok(NULL, "\n"))
					printf("%s%s\n", before, line);
				free(tmp);
			}
			free(before);
			return 0;
		}
		struct strbuf all = STRBUF_INIT;
		char *tmp;
		size_t len;
		FILE *mem = open_memstream(&tmp, &len);
		opts_complete_flags(spec, mem);
		fclose(mem);
		for (char *line = strtok(tmp, "\n"); line; line = strtok(NULL, "\n"))
			if (str_starts(line, cur))
				printf("%s\n", line);
		free(tmp);
		sb_release(&all);
		return 0;
	}
	complete_values(spec->args, NULL, cur, stdout);
	return 0;
}
