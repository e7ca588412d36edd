/* srv_loop.h: the io_uring event loop of precisd.
 *
 * One thread owns the ring: accept, recv, sendmsg, a read on the workers'
 * eventfd, a read on the signal self-pipe and a periodic timeout are all ring
 * operations whose user_data is the address of a small srv_op. Decoded
 * requests go to the worker pool (srv_workq.h); the loop never calls the
 * engine. Health and stats are answered on the loop thread (no engine). */
#ifndef PRECIS_SERVER_SRV_LOOP_H
#define PRECIS_SERVER_SRV_LOOP_H

#include "srv.h"

/* Serve on the listening socket until SIGINT/SIGTERM arrives on sig_fd (the
 * read end of the signal self-pipe: one byte per signal), then stop accepting, let in-flight requests finish (bounded by
 * cfg.shutdown_grace_s), close every connection and stop the workers.
 * Returns 0 after a clean shutdown, -1 when the loop could not run. The
 * caller closes the engine afterwards. */
int srv_loop_run(srv_server *s, int listen_fd, int sig_fd);

#endif
