/* log.h: warnings and debug lines from core/.
 *
 * core/ never prints; it hands a formatted line to the handler cli/ installs (its --log and
 * --debug rules apply).  Without a handler (unit tests) lines are dropped, unless a test
 * installs its own to assert on them. */
#ifndef FOCKER_LOG_H
#define FOCKER_LOG_H

/* level: "warning" or "debug"; msg: one line without a trailing newline */
typedef void (*focker_log_fn) (const char *level, const char *msg);

/* Install the handler (NULL: drop lines); returns the previous one. */
focker_log_fn focker_log_set (focker_log_fn fn);

void focker_log (const char *level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#endif
