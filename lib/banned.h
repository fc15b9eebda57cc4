/* banned.h - functions that must not be used; included by util.h. */
#ifndef BANNED_H
#define BANNED_H
#define BANNED(f) sorry_##f##_is_banned_use_strbuf
#undef strcpy
#define strcpy(a, b) BANNED(strcpy)
#undef strcat
#define strcat(a, b) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(a) BANNED(gets)
#endif
