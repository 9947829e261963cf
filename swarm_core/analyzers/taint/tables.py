"""Sources, sinks and sanitizers as data: a table per framework (Flask, Django, FastAPI, stdlib)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["FRAMEWORKS", "KINDS", "Framework", "Sanitizer", "Sink", "Tables", "merged"]

# kind -> (CWE, what the reader is told)
KINDS: Final[dict[str, tuple[int, str]]] = {
    "sqli": (89, "SQL injection: request data reaches a query string"),
    "cmdi": (78, "OS command injection: request data reaches a shell command"),
    "pathtraver": (22, "Path traversal: request data chooses a file path"),
    "redirect": (601, "Open redirect: request data chooses the redirect target"),
    "xss": (79, "Cross-site scripting: request data is returned as HTML unescaped"),
    "xpathi": (643, "XPath injection: request data reaches an XPath query"),
    "ldapi": (90, "LDAP injection: request data reaches a search filter"),
    "deserialization": (502, "Unsafe deserialization of request data"),
    "codeinj": (94, "Code injection: request data is evaluated as Python"),
    "xxe": (611, "XML external entities: request XML parsed with external entities on"),
    "trustbound": (501, "Trust boundary: request data is stored in the session"),
    "securecookie": (614, "Cookie set without the Secure flag"),
    "httponly": (1004, "Cookie set without the HttpOnly flag"),
}


@dataclass(frozen=True, slots=True)
class Sink:
    """A call whose arguments must not carry taint of `kind`.

    `names` are qualified names ("subprocess.run") or, starting with a dot, a method on any
    object that is not an imported module (".execute"). `args` are the positions and
    `keywords` the names checked; `receiver` checks the object the method is called on.
    `check` names a special rule in the engine: "argv" (a list runs without a shell unless
    its program is a shell), "yaml" (safe loaders are fine), "xxe" (only with an
    entity-resolving parser), "xmltree" (only on a parsed XML tree), "body" (a response
    built from a (body, headers) tuple: only the body is HTML).
    """

    kind: str
    names: tuple[str, ...]
    args: tuple[int, ...] = (0,)
    keywords: tuple[str, ...] = ()
    receiver: bool = False
    check: str = ""


@dataclass(frozen=True, slots=True)
class Sanitizer:
    """Calls whose result is safe for `kinds` ("*": every kind)."""

    names: tuple[str, ...]
    kinds: frozenset[str]


@dataclass(frozen=True, slots=True)
class Framework:
    """One framework's sources, sinks and sanitizers.

    `sources` are qualified names whose value is request data; `source_calls` calls that
    return it; `request_types` annotations that make a parameter request data;
    `route_decorators` decorator method names whose function's parameters are request data
    (path and query parameters); `request_params` parameter names that are the request in a
    view (Django's first argument); `clean_calls` calls whose result carries no request data
    into HTML (autoescaped templates, JSON bodies, redirects already checked as sinks);
    `session_names` the session objects (writes to them cross a trust boundary);
    `fixed_attributes` attributes of a source that the route, not the client, decides.
    """

    name: str
    sources: tuple[str, ...] = ()
    source_calls: tuple[str, ...] = ()
    request_types: tuple[str, ...] = ()
    route_decorators: tuple[str, ...] = ()
    request_params: tuple[str, ...] = ()
    sinks: tuple[Sink, ...] = ()
    sanitizers: tuple[Sanitizer, ...] = ()
    clean_calls: tuple[str, ...] = ()
    session_names: tuple[str, ...] = ()
    fixed_attributes: tuple[str, ...] = ()


_ROUTES = ("route", "get", "post", "put", "patch", "delete", "api_route", "websocket", "head", "options")

FLASK: Final = Framework(
    name="flask",
    sources=("flask.request", "flask.globals.request", "werkzeug.local.request"),
    route_decorators=_ROUTES,
    sinks=(
        Sink("redirect", ("flask.redirect", "werkzeug.utils.redirect"), keywords=("location",)),
        Sink("xss", ("flask.make_response", "flask.Response"), check="body"),
        Sink("xss", ("flask.render_template_string",)),
        Sink("xss", ("markupsafe.Markup", "flask.Markup")),
        Sink("pathtraver", ("flask.send_file",), keywords=("path_or_file",)),
    ),
    sanitizers=(
        Sanitizer(("markupsafe.escape", "flask.escape", "jinja2.escape"), frozenset({"xss"})),
        Sanitizer(("werkzeug.utils.secure_filename", "werkzeug.secure_filename"), frozenset({"pathtraver"})),
    ),
    clean_calls=("flask.render_template", "flask.jsonify", "flask.url_for", "flask.abort"),
    session_names=("flask.session",),
    # The matched route fixes these: a route without variables has one path.
    fixed_attributes=(
        "flask.request.path",
        "flask.request.method",
        "flask.request.endpoint",
        "flask.request.url_rule",
        "flask.request.blueprint",
        "flask.request.script_root",
    ),
)

DJANGO: Final = Framework(
    name="django",
    request_types=("django.http.HttpRequest", "django.http.request.HttpRequest"),
    request_params=("request",),
    sinks=(
        Sink(
            "redirect",
            (
                "django.shortcuts.redirect",
                "django.http.HttpResponseRedirect",
                "django.http.HttpResponsePermanentRedirect",
            ),
            keywords=("redirect_to", "to"),
        ),
        Sink("xss", ("django.http.HttpResponse", "django.utils.safestring.mark_safe"), keywords=("content",)),
        Sink("sqli", ("django.db.models.expressions.RawSQL", "django.db.models.RawSQL"), keywords=("sql",)),
        Sink("sqli", (".raw", ".extra"), keywords=("raw_query", "where")),
    ),
    sanitizers=(
        Sanitizer(("django.utils.html.escape", "django.utils.html.conditional_escape"), frozenset({"xss"})),
        Sanitizer(("django.utils.http.url_has_allowed_host_and_scheme",), frozenset({"redirect"})),
    ),
    clean_calls=(
        "django.shortcuts.render",
        "django.http.JsonResponse",
        "django.template.loader.render_to_string",
    ),
)

FASTAPI: Final = Framework(
    name="fastapi",
    request_types=(
        "fastapi.Request",
        "starlette.requests.Request",
        "fastapi.WebSocket",
        "starlette.websockets.WebSocket",
    ),
    route_decorators=_ROUTES,
    sinks=(
        Sink(
            "redirect",
            ("fastapi.responses.RedirectResponse", "starlette.responses.RedirectResponse"),
            keywords=("url",),
        ),
        Sink(
            "xss",
            ("fastapi.responses.HTMLResponse", "starlette.responses.HTMLResponse"),
            keywords=("content",),
        ),
    ),
    clean_calls=("fastapi.responses.JSONResponse", "starlette.responses.JSONResponse"),
)

STDLIB: Final = Framework(
    name="stdlib",
    source_calls=("cgi.FieldStorage", "builtins.input"),
    sinks=(
        Sink("sqli", (".execute", ".executemany", ".executescript"), keywords=("sql", "operation")),
        Sink("sqli", ("sqlalchemy.text",), keywords=("text",)),
        Sink(
            "cmdi",
            (
                "subprocess.run",
                "subprocess.call",
                "subprocess.Popen",
                "subprocess.check_call",
                "subprocess.check_output",
            ),
            keywords=("args",),
            check="argv",
        ),
        Sink(
            "cmdi",
            (
                "os.system",
                "os.popen",
                "subprocess.getoutput",
                "subprocess.getstatusoutput",
                "commands.getoutput",
            ),
            keywords=("command", "cmd"),
        ),
        Sink(
            "cmdi", ("os.execl", "os.execlp", "os.execv", "os.execvp", "os.spawnl", "os.spawnv"), args=(0, 1)
        ),
        Sink(
            "pathtraver",
            ("builtins.open", "codecs.open", "io.open", "os.open", "os.remove", "os.unlink", "os.rmdir"),
            keywords=("file", "filename", "path"),
        ),
        Sink("pathtraver", ("shutil.rmtree", "shutil.copyfile", "shutil.move"), args=(0, 1)),
        Sink(
            "pathtraver",
            (".read_text", ".read_bytes", ".write_text", ".write_bytes", ".unlink"),
            args=(),
            receiver=True,
            check="path",
        ),
        Sink("pathtraver", (".open",), args=(), receiver=True, check="path"),
        Sink("xpathi", (".xpath",), keywords=("_path",)),
        Sink("xpathi", ("lxml.etree.XPath", "lxml.etree.ETXPath"), keywords=("path",)),
        Sink("xpathi", (".find", ".findall", ".findtext", ".iterfind"), keywords=("path",), check="xmltree"),
        Sink("ldapi", (".search",), args=(1,), keywords=("search_filter",)),
        Sink(
            "ldapi",
            (".search_s", ".search_st", ".search_ext", ".search_ext_s"),
            args=(2,),
            keywords=("filterstr",),
        ),
        Sink(
            "deserialization",
            (
                "pickle.loads",
                "pickle.load",
                "_pickle.loads",
                "cPickle.loads",
                "dill.loads",
                "marshal.loads",
                "jsonpickle.decode",
                "shelve.open",
                "yaml.unsafe_load",
            ),
            keywords=("data", "file"),
        ),
        Sink("deserialization", ("yaml.load", "yaml.load_all"), keywords=("stream",), check="yaml"),
        Sink("codeinj", ("builtins.eval", "builtins.exec", "builtins.compile"), keywords=("source",)),
        Sink(
            "xxe",
            (
                "xml.dom.minidom.parseString",
                "xml.dom.minidom.parse",
                "xml.dom.pulldom.parseString",
                "xml.dom.pulldom.parse",
                "xml.sax.parseString",
                "xml.sax.parse",
                "lxml.etree.fromstring",
                "lxml.etree.parse",
                "lxml.etree.XML",
                ".parse",
            ),
            check="xxe",
        ),
    ),
    sanitizers=(
        Sanitizer(
            ("html.escape", "cgi.escape", "xml.sax.saxutils.escape", ".escape_for_html"), frozenset({"xss"})
        ),
        Sanitizer(("shlex.quote", "pipes.quote"), frozenset({"cmdi"})),
        Sanitizer(("os.path.basename",), frozenset({"pathtraver"})),
        Sanitizer(
            ("ldap3.utils.conv.escape_filter_chars", "ldap.filter.escape_filter_chars"), frozenset({"ldapi"})
        ),
        Sanitizer(
            ("builtins.int", "builtins.float", "builtins.bool", "builtins.len", "uuid.UUID", "builtins.hash"),
            frozenset({"*"}),
        ),
    ),
    clean_calls=("builtins.isinstance", "builtins.type", "builtins.id", "os.path.exists", "os.path.isfile"),
)

FRAMEWORKS: Final = (FLASK, DJANGO, FASTAPI, STDLIB)


@dataclass(frozen=True, slots=True)
class Tables:
    """Every framework's rows, indexed for the engine."""

    sources: frozenset[str]
    source_calls: frozenset[str]
    request_types: frozenset[str]
    route_decorators: frozenset[str]
    request_params: frozenset[str]
    sinks: dict[str, tuple[Sink, ...]]
    sanitizers: dict[str, frozenset[str]]
    clean_calls: frozenset[str]
    session_names: frozenset[str]
    fixed_attributes: frozenset[str]


def merged(frameworks: tuple[Framework, ...] = FRAMEWORKS) -> Tables:
    """The frameworks' tables merged, sinks and sanitizers keyed by name."""
    sinks: dict[str, list[Sink]] = {}
    sanitizers: dict[str, frozenset[str]] = {}
    for fw in frameworks:
        for sink in fw.sinks:
            for name in sink.names:
                sinks.setdefault(name, []).append(sink)
        for san in fw.sanitizers:
            for name in san.names:
                sanitizers[name] = sanitizers.get(name, frozenset()) | san.kinds
    return Tables(
        sources=frozenset(n for fw in frameworks for n in fw.sources),
        source_calls=frozenset(n for fw in frameworks for n in fw.source_calls),
        request_types=frozenset(n for fw in frameworks for n in fw.request_types),
        route_decorators=frozenset(n for fw in frameworks for n in fw.route_decorators),
        request_params=frozenset(n for fw in frameworks for n in fw.request_params),
        sinks={k: tuple(v) for k, v in sinks.items()},
        sanitizers=sanitizers,
        clean_calls=frozenset(n for fw in frameworks for n in fw.clean_calls),
        session_names=frozenset(n for fw in frameworks for n in fw.session_names),
        fixed_attributes=frozenset(n for fw in frameworks for n in fw.fixed_attributes),
    )
