/*
 * web-install.c: GET or POST /api/v1/install/TOKEN, where a host's
 * installer reports back during host-install (the boot entry's template
 * puts the URL on the installer's command line or in its preseed). The
 * one-time token is the credential: unknown tokens are 404.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "db-host.h"
#include "web-internal.h"
#include "banned.h"

static void web_client_address(struct web_req *r, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  out, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)len);
}

enum MHD_Result web_install_report(struct web_req *r)
{
	const char *token = r->args[0];
	struct err err = ERR_INIT;
	char from[64];
	char *host = NULL;
	enum MHD_Result ret;

	web_client_address(r, from, sizeof(from));
	if (db_host_install_report(r->db, token, from[0] ? from : NULL, &host,
				   &err) < 0) {
		if (err.code == ERR_NOTFOUND)
			return web_error(r, MHD_HTTP_NOT_FOUND, "unknown installation",
					 "no host-install is waiting for this token");
		return web_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "database error",
				 err.msg);
	}
	ret = web_json(r, MHD_HTTP_OK,
		       json_pack("{s:s, s:b}", "host", host, "reported", 1));
	free(host);
	return ret;
}
