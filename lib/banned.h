/*
 * banned.h: functions that are easy to misuse, made to fail at compile
 * time. Included last by every .c file of hangar (after system headers).
 */
#ifndef HANGAR_BANNED_H
#define HANGAR_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_hangar

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)

#endif
