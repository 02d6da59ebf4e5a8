#!/usr/bin/env python3
"""Lists every form and API parameter of a running Parley and runs sqlmap on each.

Started by scripts/sqlmap.sh, which starts the server and creates the tokens.
Targets, each written as a raw HTTP request file for `sqlmap -r`:

  - team app: a signed-in crawl from / collects every page's links (query
    parameters) and forms (their fields as the page renders them), one per
    route and field set; each route's path ids are marked for sqlmap too;
  - API: every operation of openapi.json, with real ids in the path, the
    query parameters it declares and a JSON body built from its schema;
  - public site (no sign-in): help center and search, the contact form (with
    a fresh signed form token), the portal sign-in, and the web chat widget.

Requests that change state run after the others, so that a deleted client
or a revoked token does not take away what other targets need. The server
runs CrossOriginProtection for CSRF: sqlmap's requests carry no Origin or
Sec-Fetch-Site header, so they are same-origin for it and need no token.

Exits 1 if sqlmap reports any parameter injectable.
"""

import argparse
import concurrent.futures
import html.parser
import http.client
import http.server
import threading
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

# sqlmap techniques: boolean-based blind, stacked queries, time-based blind
# and inline queries. UNION (U) is left out: at level 3 it tries 1 to 30
# columns on every parameter, most of the run, and any point it could use is
# also found by the boolean and time tests. SQLite has no error-based (E)
# payloads in sqlmap.
TECHNIQUES = "BSTQ"

# The tests run, whatever the level (a test filter lifts sqlmap's level and
# risk gates on tests; the level still sets the boundaries, the quotes and
# comments tried around each payload): the generic boolean-based blind tests,
# which catch injection into a SELECT, and SQLite's time-based, stacked and
# inline tests, which catch it in writes too. Level 3 with every test would
# have taken over an hour and a half on the shared 2-core machine (about 50s
# a parameter); this set, at level 2, takes about half that, and still finds
# a planted injection (boolean-based and stacked).
TESTS = (r"^(AND boolean-based blind - WHERE or HAVING clause$|Boolean-based blind - Parameter replace \(original"
         r" value\)|SQLite > 2\.0 AND time-based blind \(heavy query\)$|SQLite > 2\.0 stacked queries \(heavy"
         r" query - comment\)|SQLite inline queries)")

# Routes that stream (SSE) and never answer in full, or end the session.
SKIP_PATHS = re.compile(r"^/(inbox/events|widget/events|logout|portal/logout)$|^/static/")
# Requests that change or delete state: run last.
DESTRUCTIVE = re.compile(r"(/delete|/erase|/merge|/revoke|/deactivate|/role|/unpublish)$")


def parse_args():
    p = argparse.ArgumentParser()
    for name in ("port", "host", "email", "password", "token", "spare-token", "work", "routes", "openapi", "only",
                 "tests"):
        p.add_argument("--" + name, default="")
    for name in ("level", "risk", "jobs", "threads"):
        p.add_argument("--" + name, type=int, default=1)
    p.add_argument("--list", action="store_true", help="list the targets, run nothing")
    return p.parse_args()


class Site:
    """HTTP to the server on 127.0.0.1 with the workspace's Host header."""

    def __init__(self, port, host):
        self.port, self.host, self.cookie = int(port), host, ""

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = {"Host": self.host}
        if self.cookie:
            h["Cookie"] = self.cookie
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        res = conn.getresponse()
        data = res.read()
        conn.close()
        return res.status, res.getheaders(), data

    def api(self, token, method, path, doc=None):
        body = json.dumps(doc).encode() if doc is not None else None
        h = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        if body is not None:
            h["Content-Type"] = "application/json"
        status, _, data = self.request(method, path, body, h)
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, None


class Forward(http.server.BaseHTTPRequestHandler):
    """An HTTP proxy to the server: sqlmap asks for http://demo.localhost:PORT/...,
    a name the resolver does not know, and the proxy sends it to 127.0.0.1
    with that Host header, which is how the server picks the workspace."""

    protocol_version = "HTTP/1.1"
    port = 0

    def forward(self):
        u = urllib.parse.urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(self.command, u.path + ("?" + u.query if u.query else ""), body or None, headers)
            res = conn.getresponse()
            data = res.read()
        except OSError as e:  # a time-based payload ran past the timeout: sqlmap has given up too
            res, data = None, str(e).encode()
        finally:
            conn.close()
        try:
            self.send_response(res.status if res else 504)
            for k, v in res.getheaders() if res else []:
                if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # sqlmap closed the connection (its own timeout)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = forward

    def log_message(self, *args):
        pass


def start_proxy(port):
    Forward.port = int(port)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return "http://127.0.0.1:%d" % srv.server_address[1]


# ---- routes.go ----

ROUTE = re.compile(r'^\s*(m|api|pub|hooks|root)\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"', re.M)


def load_routes(path):
    """Returns (site, method, pattern, regex) for every route in routes.go."""
    routes = []
    for site, method, pattern in ROUTE.findall(open(path).read()):
        rx = re.escape(pattern.replace("{$}", ""))
        rx = re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", rx)
        routes.append((site, method, pattern, re.compile("^" + rx + "$")))
    return routes


def route_of(routes, method, path):
    for site, m, pattern, rx in routes:
        if m == method and site in ("m", "pub", "api") and rx.match(path):
            return pattern
    return None


# ---- HTML: links and forms ----

class PageParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.forms, self.form, self.select, self.textarea = [], [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for attr in ("hx-get", "hx-post"):
            if a.get(attr):
                self.links.append(a[attr]) if attr == "hx-get" else None
        if tag == "form":
            self.form = {"action": a.get("action") or a.get("hx-post") or "", "method": (a.get("method") or
                         ("post" if a.get("hx-post") else "get")).upper(), "enctype": a.get("enctype", ""), "fields": []}
            self.forms.append(self.form)
        elif self.form is None:
            return
        elif tag in ("input", "button") and a.get("name"):
            kind = a.get("type", "text" if tag == "input" else "submit")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind == "file":
                self.form["enctype"] = "multipart/form-data"
                return
            self.form["fields"].append([a["name"], a.get("value", "")])
        elif tag == "select" and a.get("name"):
            self.select = [a["name"], None]
            self.form["fields"].append(self.select)
        elif tag == "option" and self.select is not None:
            if self.select[1] is None or "selected" in a:
                self.select[1] = a.get("value", "")
        elif tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]
            self.form["fields"].append(self.textarea)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def sample_text(name, value):
    """A value the form will accept for a field the page left empty."""
    if value:
        return value
    n = name.lower()
    if "email" in n:
        return "sqlmap@example.com"
    if "phone" in n or n in ("value",):
        return "+48512345678"
    if "date" in n:
        return "2000-01-01"
    if "password" in n:
        return "Wrong-password-1"
    return "sqlmap"


# ---- request files ----

class Targets:
    def __init__(self, work, host_line):
        self.work, self.host_line, self.items, self.seen = work, host_line, [], set()
        os.makedirs(work, exist_ok=True)

    def add(self, name, method, path, headers, body, key, destructive=False, params=0):
        if key in self.seen:
            return
        self.seen.add(key)
        # The first signed-in page and GET /api/v1/me also test the headers:
        # the session cookie, User-Agent, Referer, and the API token.
        test_headers = False
        if name == "GET /api/v1/me":
            headers = [(k, v + "*" if k == "Authorization" else v) for k, v in headers]
            test_headers, params = True, params + 1
        elif method == "GET" and any(k == "Cookie" for k, _ in headers) and not any(i["headers"] for i in self.items):
            test_headers, params = True, params + 3
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + self.host_line]
        lines += ["%s: %s" % kv for kv in headers]
        if body is not None:
            lines.append("Content-Length: %d" % len(body.encode()))
        req = "\r\n".join(lines) + "\r\n\r\n" + (body or "")
        fname = os.path.join(self.work, "req-%03d.txt" % len(self.items))
        with open(fname, "w") as f:
            f.write(req)
        self.items.append({"name": name, "file": fname, "destructive": destructive, "params": params,
                           "headers": test_headers})


def form_body(fields, multipart):
    if not multipart:
        return "application/x-www-form-urlencoded", urllib.parse.urlencode(fields)
    boundary = "----sqlmapParleyBoundary"
    parts = []
    for k, v in fields:
        parts.append('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v))
    return "multipart/form-data; boundary=" + boundary, "".join(parts) + "--%s--\r\n" % boundary


def mark_path_ids(pattern, path):
    """Marks each {id} segment of path (as matched by pattern) with sqlmap's '*'."""
    pp, sp = pattern.split("/"), path.split("?")[0].split("/")
    if len(pp) != len(sp):
        return path, 0
    n = 0
    for i, seg in enumerate(pp):
        if seg.startswith("{") and seg != "{$}":
            sp[i] += "*"
            n += 1
    q = path[len(path.split("?")[0]):]
    return "/".join(sp) + q, n


# ---- team app crawl ----

def crawl(site, routes, targets, cookie_header, spare_token_id, limit=400):
    """Crawls the signed-in team app; returns the route patterns it reached."""
    queue, visited, per_route, reached = ["/"], set(), {}, set()
    seeds = ["/inbox", "/clients", "/templates", "/help-center", "/help-center/categories", "/settings",
             "/settings/account", "/settings/team", "/settings/tokens", "/settings/audit", "/settings/workspace",
             "/settings/retention", "/settings/consents", "/settings/fields", "/settings/channels",
             "/settings/channels/new", "/settings/portal", "/notifications", "/clients/new", "/help-center/articles/new"]
    queue += seeds
    headers = [("Cookie", cookie_header)]
    while queue and len(visited) < limit:
        url = queue.pop(0)
        path = urllib.parse.urlsplit(url).path
        if url in visited or SKIP_PATHS.search(path):
            continue
        visited.add(url)
        pattern = route_of(routes, "GET", path)
        if pattern is None:
            continue
        # One page per route and query shape is enough; more would only repeat.
        shape = (pattern, tuple(sorted(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query))))
        if per_route.get(shape):
            continue
        per_route[shape] = True
        status, hdrs, data = site.request("GET", url)
        if status >= 400:
            continue
        reached.add("GET " + pattern)
        marked, n = mark_path_ids(pattern, url)
        q = len(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=True))
        if n or q:
            targets.add("GET " + url, "GET", marked, headers, None, ("GET", shape), params=n + q)
        ctype = dict((k.lower(), v) for k, v in hdrs).get("content-type", "")
        if "html" not in ctype:
            continue
        p = PageParser()
        p.feed(data.decode("utf-8", "replace"))
        for link in p.links:
            u = urllib.parse.urlsplit(urllib.parse.urljoin(url, link))
            if u.netloc or not u.path.startswith("/"):
                continue
            queue.append(u.path + ("?" + u.query if u.query else ""))
        for form in p.forms:
            add_form(routes, targets, url, form, headers, spare_token_id, reached)
    return reached


def add_form(routes, targets, page, form, headers, spare_token_id, reached):
    action = urllib.parse.urljoin(page, form["action"] or page)
    u = urllib.parse.urlsplit(action)
    if u.netloc or SKIP_PATHS.search(u.path):
        return
    method = form["method"] if form["method"] in ("GET", "POST") else "POST"
    pattern = route_of(routes, method, u.path)
    if pattern is None:
        return
    path = u.path
    if pattern == "/settings/tokens/{id}/revoke":
        path = "/settings/tokens/%s/revoke" % spare_token_id  # not the token the API tests use
    fields = [(k, sample_text(k, v)) for k, v in form["fields"]]
    names = tuple(sorted(k for k, _ in fields))
    key = (method, pattern, names)
    marked, n = mark_path_ids(pattern, path)
    reached.add(method + " " + pattern)
    if method == "GET":
        qs = urllib.parse.urlencode(fields)
        targets.add("GET form " + pattern, "GET", marked + ("?" + qs if qs else ""), headers, None, key,
                    params=n + len(fields))
        return
    ctype, body = form_body(fields, form["enctype"] == "multipart/form-data")
    targets.add("POST form " + pattern, "POST", marked, headers + [("Content-Type", ctype)], body, key,
                destructive=bool(DESTRUCTIVE.search(pattern)), params=n + len(fields))


# ---- API from openapi.json ----

def deref(doc, schema):
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 10:
        node = doc
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema, seen = node, seen + 1
    return schema


def sample_json(doc, schema, name, ids, depth=0):
    schema = deref(doc, schema)
    for alt in ("oneOf", "anyOf", "allOf"):
        if alt in schema:
            return sample_json(doc, schema[alt][0], name, ids, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = [k for k in kind if k != "null"][0]
    if "enum" in schema:
        vals = [v for v in schema["enum"] if v not in ("", None)]
        return vals[0] if vals else schema["enum"][0]
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        return {k: sample_json(doc, v, k, ids, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [sample_json(doc, schema.get("items", {}), name, ids, depth + 1)] if depth < 3 else []
    if kind == "integer" or kind == "number":
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    n = name.lower()
    if n.endswith("_id") or n == "id":
        return ids.get(n, "")
    if "email" in n or n.endswith("address"):
        return "sqlmap@example.com"
    if schema.get("format") == "date-time":
        return "2030-01-01T00:00:00Z"
    if "date" in n:
        return "2000-01-01"
    return sample_text(name, "")


def path_ids(path, ids):
    """Fills each {param} of an API path with a real id of its kind."""
    def fill(m):
        param, before = m.group(1), path[:m.start()]
        kind = {"contactID": "contact", "addressID": "address", "noteID": "note", "domain": "domain"}.get(param)
        if kind is None:
            kind = before.rstrip("/").split("/")[-1]  # clients, chats, messages, templates, ...
        return ids.get(kind, "01ZZZZZZZZZZZZZZZZZZZZZZZZ")
    return re.sub(r"\{([A-Za-z]+)\}", fill, path)


def api_targets(site, doc, targets, token, ids, reached):
    headers = [("Authorization", "Bearer " + token), ("Accept", "application/json")]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            method = method.upper()
            if method not in ("GET", "POST", "PUT", "PATCH", "DELETE") or path.endswith("openapi.json"):
                continue
            pattern = path
            real = path_ids(path, ids)
            marked, n = mark_path_ids(pattern, real)
            query = []
            for prm in op.get("parameters", []):
                prm = deref(doc, prm)
                if prm.get("in") == "query":
                    query.append((prm["name"], str(sample_json(doc, prm.get("schema", {}), prm["name"], ids))))
            if query:
                marked += "?" + urllib.parse.urlencode(query)
            body, h, fields = None, list(headers), 0
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                value = sample_json(doc, content["application/json"].get("schema", {}), "", ids)
                body = json.dumps(value)
                h.append(("Content-Type", "application/json"))
                fields = len(re.findall(r'":\s*("|\d)', body))
            elif content:
                continue  # the logo upload takes raw image bytes: no parameter to test
            destructive = method == "DELETE" or bool(DESTRUCTIVE.search(pattern))
            if not destructive and (query or body):
                query, body = preflight(site, token, method, real, query, body)
                marked = mark_path_ids(pattern, real)[0] + ("?" + urllib.parse.urlencode(query) if query else "")
            reached.add(method + " " + pattern)
            targets.add("%s %s" % (method, pattern), method, marked, h, body, (method, pattern),
                        destructive=destructive, params=n + len(query) + fields)


# Values to try for a field the API refused (422 names it): a request that
# fails validation never reaches the code under test.
ALTERNATIVES = ["2020-01-01", "2020-01-01T00:00:00Z", "10", "sqlmap@example.com", "+48512345678", "en",
                "https://example.com", "email", "open", ""]


def preflight(site, token, method, path, query, body):
    """Sends the request once and swaps the values of refused fields until the
    API accepts it (or no alternative helps)."""
    query, doc = list(query), json.loads(body) if body else None

    def send():
        url = path + ("?" + urllib.parse.urlencode(query) if query else "")
        return site.api(token, method, url, doc)

    status, res = send()
    for _ in range(3):
        if status != 422 or not isinstance(res, dict):
            break
        fields = [f.get("field", "") for f in (res.get("error") or {}).get("fields") or []]
        for field in fields:
            for alt in ALTERNATIVES:
                if any(k == field for k, _ in query):
                    query = [(k, alt if k == field else v) for k, v in query]
                elif isinstance(doc, dict) and field in doc:
                    doc[field] = alt if not isinstance(doc[field], (int, float)) or not alt.isdigit() else int(alt)
                else:
                    break
                status, res = send()
                refused = [f.get("field") for f in ((res or {}).get("error") or {}).get("fields") or []] \
                    if isinstance(res, dict) else []
                if status != 422 or field not in refused:
                    break
    return query, json.dumps(doc) if doc is not None else body


def gather_ids(site, token):
    """Real ids of each kind, creating what the demo lacks."""
    ids = {}

    def first(path, key="data"):
        status, doc = site.api(token, "GET", path)
        items = (doc or {}).get(key) or [] if isinstance(doc, dict) else []
        return items[0] if items else None

    c = first("/api/v1/clients?limit=5")
    ids["users"] = ids["invites"] = ids["fields"] = "01ZZZZZZZZZZZZZZZZZZZZZZZZ"  # none to spare: an unknown id
    if c:
        ids["clients"] = ids["client_id"] = c["id"]
        _, full = site.api(token, "GET", "/api/v1/clients/" + c["id"])
        for kind, key in (("contact", "contacts"), ("address", "addresses")):
            if full and full.get(key):
                ids[kind] = full[key][0]["id"]
        _, note = site.api(token, "POST", "/api/v1/clients/%s/notes" % c["id"], {"body": "sqlmap note"})
        if isinstance(note, dict) and note.get("id"):
            ids["note"] = note["id"]
        _, exp = site.api(token, "POST", "/api/v1/clients/%s/export" % c["id"])
        if isinstance(exp, dict) and exp.get("id"):
            ids["exports"] = exp["id"]
    _, other = site.api(token, "POST", "/api/v1/clients", {"first_name": "Merge", "last_name": "Target"})
    if isinstance(other, dict) and other.get("id"):
        ids["other_id"] = other["id"]
    ch = first("/api/v1/chats?limit=5")
    if ch:
        ids["chats"] = ids["chat_id"] = ch["id"]
        m = first("/api/v1/chats/%s/messages" % ch["id"])
        if m:
            ids["messages"] = ids["message_id"] = m["id"]
    site.api(token, "POST", "/api/v1/templates", {"name": "sqlmap", "body": "Hello"})
    t = first("/api/v1/templates")
    if t:
        ids["templates"] = t["id"]
    _, cat = site.api(token, "POST", "/api/v1/kb/categories", {"name": "Sqlmap"})
    cat = first("/api/v1/kb/categories")
    if cat:
        ids["categories"] = ids["category_id"] = cat["id"]
    site.api(token, "POST", "/api/v1/kb/articles", {"title": "Sqlmap article", "body_markdown": "Hello world",
                                                     "category_id": ids.get("category_id", ""), "published": True})
    a = first("/api/v1/kb/articles")
    if a:
        ids["articles"] = a["id"]
    site.api(token, "POST", "/api/v1/channels", {"type": "website", "name": "Website"})
    chn = first("/api/v1/channels")
    if chn:
        ids["channels"] = ids["channel_id"] = chn["id"]
    site.api(token, "POST", "/api/v1/settings/portal/domains", {"domain": "help.sqlmap.example"})
    ids["domain"] = "help.sqlmap.example"
    return ids


# ---- what the crawl cannot see ----

# Query parameters the handlers read (grep 'Get("' in app/web) that no link
# or form on the crawled pages carries: htmx builds them, or they arrive from
# email links.
def extra_urls(ids):
    c, ch, m = ids.get("clients", ""), ids.get("chats", ""), ids.get("messages", "")
    return [
        "/inbox/list?fragment=rows&shown=10&chat=%s&status=open&transport=email&unread=1&view=mine&cursor=x&q=a" % ch,
        "/inbox/search?q=hello&fragment=hits&before=x&status=open&transport=email",
        "/inbox/unread?status=open",
        "/inbox/%s/history?before=%s" % (ch, m),
        "/inbox/%s/live?after=%s&at=%s&from=x&head=1&q=a" % (ch, m, m),
        "/inbox/templates?q=hello",
        "/inbox/messages/%s/html" % m,
        "/clients/%s?fragment=timeline&before=x&type=note" % c,
        "/clients/%s/consents?channel=email" % c,
        "/settings/consents?purpose=marketing&state=granted&channel=email&cursor=x&limit=10",
        "/settings/audit/export?format=csv&actor=x&from=2020-01-01&to=2030-01-01&type=x",
        "/settings/channels/new?type=email",
        "/help-center?q=a&status=draft&locale=en&category=%s&cursor=x" % ids.get("categories", ""),
        "/help-center/articles/new?translation_of=%s" % ids.get("articles", ""),
        "/login/link?token=x&next=/",
    ]


GAP_IDS = {"chatID": "chats", "contactID": "contact", "addressID": "address", "noteID": "note",
           "exportID": "exports", "domain": "domain"}


def fill_gaps(routes, targets, ids, headers, reached):
    """Gives every route with a path id or a body that the crawl missed a
    request of its own, so its path ids are tested even without a form."""
    def kind(param, before):
        if param in GAP_IDS:
            return ids.get(GAP_IDS[param], "01ZZZZZZZZZZZZZZZZZZZZZZZZ")
        if param in ("secret", "token"):
            return "x" * 43
        if param == "slug":
            return "sqlmap-article"
        if param in ("file", "name"):
            return "logo.png"
        seg = before.rstrip("/").split("/")[-1]
        seg = {"inbox": "chats", "help-center": "articles", "attachments": "attachments"}.get(seg, seg)
        return ids.get(seg, ids.get(seg.rstrip("s") if seg != "messages" else seg, "01ZZZZZZZZZZZZZZZZZZZZZZZZ"))
    for site, method, pattern, _ in routes:
        if site not in ("m", "pub") or method + " " + pattern in reached or SKIP_PATHS.search(pattern):
            continue
        if "{" not in pattern.replace("{$}", "") and method != "POST":
            continue
        path = re.sub(r"\{([A-Za-z]+)\}", lambda mt: kind(mt.group(1), pattern[:mt.start()]), pattern)
        marked, n = mark_path_ids(pattern, path)
        body, h = None, list(headers)
        if method == "POST":
            body, h = "sqlmap=1", h + [("Content-Type", "application/x-www-form-urlencoded")]
        reached.add(method + " " + pattern)
        targets.add("%s %s" % (method, pattern), method, marked, h, body, (method, pattern, "gap"),
                    destructive=bool(DESTRUCTIVE.search(pattern)), params=n)


# ---- public site ----

def public_targets(site, targets, reached):
    """The help center, contact form, portal sign-in and widget, signed out."""
    plain = Site(site.port, site.host)
    headers = []
    for url in ("/help", "/help/search?q=hello&locale=en&page=1", "/help/sitemap.xml", "/help/contact",
                "/portal/login", "/portal/login?ended=signout", "/widget/frame", "/widget/messages?before=x",
                "/widget.js"):
        status, hdrs, data = plain.request("GET", url)
        u = urllib.parse.urlsplit(url)
        pattern = route_of_public(u.path)
        if status >= 400:
            print("public %s answered %d" % (url, status))
            continue
        reached.add("GET " + pattern)
        if u.query:
            targets.add("GET " + url, "GET", url, headers, None, ("GET", url),
                        params=len(urllib.parse.parse_qsl(u.query)))
        p = PageParser()
        p.feed(data.decode("utf-8", "replace"))
        for link in p.links:
            lu = urllib.parse.urlsplit(urllib.parse.urljoin(url, link))
            if lu.path.startswith(("/help/articles/", "/help/categories/")) and not lu.netloc:
                pat = "/help/articles/{slug}" if "/articles/" in lu.path else "/help/categories/{slug}"
                marked, n = mark_path_ids(pat, lu.path)
                targets.add("GET " + pat, "GET", marked, headers, None, ("GET", pat), params=n)
                reached.add("GET " + pat)
        for form in p.forms:
            action = urllib.parse.urljoin(url, form["action"] or url)
            au = urllib.parse.urlsplit(action)
            if au.netloc:
                continue
            method = form["method"]
            fields = [(k, v if v or k in ("website", "hp", "honeypot") else sample_text(k, v))
                      for k, v in form["fields"]]
            pat = route_of_public(au.path)
            reached.add(method + " " + pat)
            if method == "GET":
                targets.add("GET form " + pat, "GET", au.path + "?" + urllib.parse.urlencode(fields), headers,
                            None, ("GET form", pat), params=len(fields))
            else:
                ctype, body = form_body(fields, form["enctype"] == "multipart/form-data")
                targets.add("POST form " + pat, "POST", au.path, headers + [("Content-Type", ctype)], body,
                            ("POST form", pat), params=len(fields))
    # The contact form's token is refused in its first 3 seconds.
    time.sleep(3.5)


PUBLIC_ROUTES = []


def route_of_public(path):
    for site, m, pattern, rx in PUBLIC_ROUTES:
        if rx.match(path):
            return pattern
    return path


# ---- sqlmap ----

def run_sqlmap(item, args):
    out = os.path.join(args.work, "out", os.path.basename(item["file"])[:-4])
    os.makedirs(out, exist_ok=True)
    cmd = ["sqlmap", "-r", item["file"], "--proxy", args.proxy, "--batch", "--ignore-stdin", "--dbms=SQLite",
           "--level=%d" % args.level, "--risk=%d" % args.risk, "--threads=%d" % args.threads,
           "--technique=" + TECHNIQUES, "--test-filter=" + (args.tests or TESTS), "--tamper=xforwardedfor", "--timeout=20", "--retries=1", "--time-sec=3",
           "--ignore-code=400,401,403,404,405,409,413,415,422,429", "--disable-coloring",
           "--output-dir=" + out, "--eval",
           # a fresh email where the contact and portal forms rate-limit per address
           "import random\nif 'email' in locals() and email == 'sqlmap@example.com': email = 'sqlmap%d@example.com' % random.randint(0, 1 << 30)"]
    if not item.get("headers"):
        # The session cookie, User-Agent and Referer reach the same code on every
        # route (level 3 tests them): they are tested on the targets marked so.
        cmd.append("--skip=User-Agent,Referer,parley_session")
    start = time.time()
    logname = os.path.join(out, "sqlmap.log")
    with open(logname, "w") as f:
        f.write(" ".join(cmd) + "\n\n")
        f.flush()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
    log = open(logname, errors="replace").read()
    injectable = re.findall(r"Parameter: (.+?)\n(.*?)(?:\n---|\Z)", log, re.S) if "sqlmap identified the following injection point" in log else []
    tested = len(set(re.findall(r"testing for SQL injection on (.+? parameter '[^']+')", log)))
    codes = re.search(r"HTTP error codes detected during run:\n(.*)", log)
    return {"item": item, "secs": time.time() - start, "tested": tested, "injectable": injectable, "log": log,
            "rc": p.returncode, "codes": codes.group(1).strip() if codes else ""}


def main():
    args = parse_args()
    routes = load_routes(args.routes)
    PUBLIC_ROUTES.extend(r for r in routes if r[0] == "pub")
    site = Site(args.port, args.host)
    targets = Targets(args.work, args.host)
    args.proxy = start_proxy(args.port)

    # Sign in as the demo admin.
    status, hdrs, _ = site.request("POST", "/login", urllib.parse.urlencode(
        {"email": args.email, "password": args.password, "next": "/"}),
        {"Content-Type": "application/x-www-form-urlencoded"})
    cookies = [v.split(";")[0] for k, v in hdrs if k.lower() == "set-cookie"]
    if status != 303 or not cookies:
        sys.exit("sign-in failed: %d" % status)
    site.cookie = "; ".join(cookies)

    _, me = site.api(args.spare_token, "GET", "/api/v1/me")
    spare_id = me["token"]["id"]
    ids = gather_ids(site, args.token)
    print("ids: " + ", ".join("%s=%s" % kv for kv in sorted(ids.items())))

    reached = set()
    reached |= crawl(site, routes, targets, site.cookie, spare_id)
    for url in extra_urls(ids):
        path = urllib.parse.urlsplit(url).path
        pattern = route_of(routes, "GET", path)
        marked, n = mark_path_ids(pattern, url)
        reached.add("GET " + pattern)
        targets.add("GET " + url, "GET", marked, [("Cookie", site.cookie)], None, ("extra", url),
                    params=n + len(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)))
    api_targets(site, json.load(open(args.openapi)), targets, args.token, ids, reached)
    public_targets(site, targets, reached)
    fill_gaps(routes, targets, ids, [("Cookie", site.cookie)], reached)
    items = targets.items
    items = [i for i in items if i["params"] > 0]  # sqlmap has nothing to try on the others
    if args.only:
        items = [i for i in items if re.search(args.only, i["name"])]

    # Route coverage: which routes got no request at all.
    all_routes = {r[1] + " " + r[2] for r in routes if r[0] in ("m", "api", "pub")}
    sent = {i["name"].replace("GET form ", "GET ").replace("POST form ", "POST ") for i in targets.items}
    sent_patterns = set()
    for name in sent:
        method, _, url = name.partition(" ")
        pat = route_of(routes, method, urllib.parse.urlsplit(url).path) or url
        sent_patterns.add(method + " " + pat)
    # Routes with something to inject (a path id, a query, a body) that got no request.
    missing = sorted(r for r in all_routes if r not in sent_patterns and r not in reached)
    print("%d targets, %d parameters; level %d, risk %d, %d jobs x %d threads" % (
        len(items), sum(i["params"] for i in items), args.level, args.risk, args.jobs, args.threads))

    if args.list:
        for i in items:
            print("%s%s (%d)" % ("[last] " if i["destructive"] else "", i["name"], i["params"]))
        print("routes without a target (%d): %s" % (len(missing), ", ".join(missing) or "none"))
        return

    results, start = [], time.time()
    for batch in ([i for i in items if not i["destructive"]], [i for i in items if i["destructive"]]):
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            for f in concurrent.futures.as_completed([pool.submit(run_sqlmap, i, args) for i in batch]):
                r = f.result()
                flag = "INJECTABLE" if r["injectable"] else "ok"
                print("%-10s %5.0fs %3d params  %s%s" % (flag, r["secs"], r["tested"], r["item"]["name"],
                                                        "  [" + r["codes"] + "]" if r["codes"] else ""), flush=True)
                results.append(r)

    print()
    print("== sqlmap summary")
    print("targets: %d, parameters tested: %d, time: %.0fs" % (
        len(results), sum(r["tested"] for r in results), time.time() - start))
    print("routes without a target (%d): %s" % (len(missing), ", ".join(missing) or "none"))
    bad = [r for r in results if r["injectable"]]
    for r in bad:
        print("\nINJECTABLE: %s (%s)" % (r["item"]["name"], r["item"]["file"]))
        for param, evidence in r["injectable"]:
            print("  Parameter: " + param + "\n" + evidence)
    if bad:
        sys.exit(1)
    print("no injectable parameter")


if __name__ == "__main__":
    main()
