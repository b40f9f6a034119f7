/*
 * web-html.c: HTML escaping, the page frame and the one stylesheet. Every
 * value from the database goes through html_escape().
 */
#include <string.h>

#include "web-internal.h"
#include "banned.h"

const char web_stylesheet[] =
	"body{font-family:system-ui,sans-serif;margin:0;color:#222}\n"
	"header{background:#223;color:#fff;padding:.5em 1em}\n"
	"header a{color:#fff;margin-right:1.2em;text-decoration:none}\n"
	"header .brand{font-weight:bold}\n"
	"main{padding:1em}\n"
	"table{border-collapse:collapse;margin:.5em 0}\n"
	"th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}\n"
	"th{background:#eee}\n"
	".state-free{background:#cfc}.state-allocated{background:#ccf}\n"
	".state-maintenance{background:#ffc}.state-broken{background:#f88}\n"
	".state-retired{background:#ddd;color:#666}\n"
	".muted{color:#666}\n"
	/* OSSTest's results colours */
	".st-pass{background:#cfc}.st-fail{background:#f99}"
	".st-broken{background:#fc6}.st-blocked,.st-starved{background:#ddd}"
	".st-running,.st-preparing,.st-queued{background:#cdf}\n"
	".banner{font-size:1.4em;font-weight:bold;padding:.4em .8em;display:inline-block}\n"
	".verdict-push{background:#8d8}.verdict-nopush{background:#e66;color:#fff}"
	".verdict-other{background:#ddd}\n"
	"tr.blocking td{font-weight:bold}\n"
	".pill{padding:0 .3em;border-radius:.3em;font-size:.9em}\n"
	".mono{font-family:ui-monospace,monospace;font-size:.9em}\n"
	".problem{background:#fdd;border:1px solid #e66;padding:.4em .8em}\n"
	"form.stack label{display:block;margin:.4em 0}\n"
	"form.filters{margin:.5em 0}\n"
	"header .user{float:right}\n"
	"pre.log{background:#111;color:#ddd;padding:.6em;overflow-x:auto;"
	"white-space:pre-wrap;max-width:100%}\n"
	"table.grid td a{color:inherit}\n"
	"svg.plan,div.graph svg{max-width:100%;height:auto}\n";

/* Where JavaScript helps: auto refresh and a live log tail. Every page
 * works without it. */
const char web_script[] =
	"(function () {\n"
	"  var r = document.querySelector('[data-refresh]');\n"
	"  if (r) setTimeout(function () { location.reload(); },\n"
	"                    1000 * Number(r.getAttribute('data-refresh')));\n"
	"  var log = document.getElementById('log');\n"
	"  if (!log || !log.getAttribute('data-live')) return;\n"
	"  var off = Number(log.getAttribute('data-offset'));\n"
	"  function tick() {\n"
	"    fetch(log.getAttribute('data-src') + '?offset=' + off)\n"
	"      .then(function (res) {\n"
	"        var size = Number(res.headers.get('X-Log-Size'));\n"
	"        return res.text().then(function (t) {\n"
	"          if (size >= off) off = size;\n"
	"          if (t) {\n"
	"            log.textContent += t;\n"
	"            window.scrollTo(0, document.body.scrollHeight);\n"
	"          }\n"
	"          setTimeout(tick, 2000);\n"
	"        });\n"
	"      })\n"
	"      .catch(function () { setTimeout(tick, 5000); });\n"
	"  }\n"
	"  setTimeout(tick, 2000);\n"
	"})();\n";

void html_escape(struct buf *b, const char *s)
{
	if (!s)
		return;
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_addstr(b, "&lt;"); break;
		case '>': buf_addstr(b, "&gt;"); break;
		case '&': buf_addstr(b, "&amp;"); break;
		case '"': buf_addstr(b, "&quot;"); break;
		case '\'': buf_addstr(b, "&#39;"); break;
		default: buf_addch(b, *s);
		}
	}
}

void html_page_begin(struct buf *b, const char *title)
{
	html_page_begin_for(b, title, NULL);
}

void html_link(struct buf *b, const char *href_prefix, const char *href_rest,
	       const char *text)
{
	buf_addstr(b, "<a href=\"");
	html_escape(b, href_prefix);
	html_escape(b, href_rest);
	buf_addstr(b, "\">");
	html_escape(b, text);
	buf_addstr(b, "</a>");
}

void html_query_param(struct buf *b, const char *name, const char *value)
{
	if (!value)
		return;
	buf_addf(b, "&amp;%s=", name);
	html_url_encode(b, value);
}

void html_url_encode(struct buf *b, const char *value)
{
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
			buf_addch(b, *p);
		else
			buf_addf(b, "%%%02X", *p);
}

void html_page_begin_for(struct buf *b, const char *title, const char *user)
{
	buf_addstr(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		      "<meta charset=\"utf-8\">"
		      "<meta name=\"viewport\" content=\"width=device-width\">"
		      "<title>");
	html_escape(b, title);
	buf_addstr(b, " - hangar</title>"
		      "<link rel=\"stylesheet\" href=\"/static/style.css\">"
		      "</head><body><header>"
		      "<a class=\"brand\" href=\"/\">hangar</a>"
		      "<a href=\"/flights\">Flights</a>"
		      "<a href=\"/hosts\">Hosts</a>"
		      "<a href=\"/plan\">Plan</a>"
		      "<a href=\"/bisections\">Bisections</a>"
		      "<a href=\"/request\">Request</a>"
		      "<span class=\"user\"><a href=\"/login\">");
	html_escape(b, user ? user : "Log in");
	buf_addstr(b, "</a></span></header><main>\n");
}

void html_page_end(struct buf *b)
{
	buf_addstr(b, "\n</main></body></html>\n");
}
