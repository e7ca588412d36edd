/* srv_net.h: listening sockets of precisd (the request port, the metrics
 * port). Errors are logged here, once, with the caller's `what`. */
#ifndef PRECIS_SERVER_SRV_NET_H
#define PRECIS_SERVER_SRV_NET_H

/* A listening TCP socket on host:port (port numeric; host "" is not
 * allowed), SO_REUSEADDR and close-on-exec, on the first address host
 * resolves to that accepts it. Returns the fd, or -1 after logging
 * "<what>: cannot resolve|listen on <host>:<port>: <reason>". */
int srv_listen_tcp(const char *what, const char *host, const char *port, int backlog);

#endif
