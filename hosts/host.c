/*
 * host.c: the host model and its JSON form.
 */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "banned.h"

void host_release(struct host *h)
{
	free(h->name);
	free(h->arch);
	free(h->state);
	free(h->state_reason);
	free(h->state_since);
	free(h->address);
	free(h->user);
	free(h->workdir);
	free(h->power);
	free(h->console);
	free(h->job);
	vec_clear(&h->flags);
	memset(h, 0, sizeof(*h));
}

void host_event_release(struct host_event *e)
{
	free(e->at);
	free(e->actor);
	free(e->kind);
	free(e->detail);
	memset(e, 0, sizeof(*e));
}

static json_t *host_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *host_to_json(const struct host *h, int detail)
{
	json_t *o = json_object();
	json_t *flags = json_array();

	for (size_t i = 0; i < h->flags.n; i++)
		json_array_append_new(flags, json_string(h->flags.v[i]));
	json_object_set_new(o, "name", json_string(h->name));
	json_object_set_new(o, "arch", json_string(h->arch));
	json_object_set_new(o, "state", json_string(h->state));
	json_object_set_new(o, "flags", flags);
	if (h->job_flight)
		json_object_set_new(o, "job",
				    json_pack("{s:I,s:s}", "flight",
					      (json_int_t)h->job_flight, "name",
					      h->job));
	else
		json_object_set_new(o, "job", json_null());
	if (!detail)
		return o;
	json_object_set_new(o, "state_reason", host_str_or_null(h->state_reason));
	json_object_set_new(o, "state_since", host_str_or_null(h->state_since));
	json_object_set_new(o, "address", json_string(h->address));
	json_object_set_new(o, "port", json_integer(h->port));
	json_object_set_new(o, "user", json_string(h->user));
	json_object_set_new(o, "workdir", json_string(h->workdir));
	json_object_set_new(o, "power", json_string(h->power));
	json_object_set_new(o, "console", json_string(h->console));
	json_object_set_new(o, "boot_timeout", json_integer(h->boot_timeout));
	json_object_set_new(o, "reservation",
			    h->reservation ? json_integer(h->reservation)
					   : json_null());
	return o;
}

json_t *host_event_to_json(const struct host_event *e)
{
	json_t *detail = json_loads(e->detail ? e->detail : "{}", 0, NULL);

	return json_pack("{s:I,s:s,s:s,s:s,s:o}", "id", (json_int_t)e->id, "at",
			 e->at, "actor", e->actor, "kind", e->kind, "detail",
			 detail ? detail : json_object());
}
