/*
 * uuid.h - UUID v4 and v7 generation (libsodium's random source) and syntax checks.
 */
#ifndef WB_UUID_H
#define WB_UUID_H

#define WB_UUID_LEN 36 /* without the NUL */

/* Write a new lowercase UUID v4 into buf (WB_UUID_LEN + 1 bytes). */
void wb_uuid__v4(char *buf);

/* Write a new lowercase UUID v7 (RFC 9562: the Unix time in milliseconds,
 * then 74 random bits) into buf. */
void wb_uuid__v7(char *buf);

/* 1 when s is a UUID in the 8-4-4-4-12 hexadecimal form (either case, any
 * version: ids made by servers are not always v4), else 0. */
int wb_uuid__valid(const char *s);

#endif
