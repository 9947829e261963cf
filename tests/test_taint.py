"""Taint engine: each sink kind, each trap (dead branches, constant match, other keys, pop, slices), the analyzer end to end."""

from __future__ import annotations

import json
import textwrap

import jsonschema
import pytest

from swarm_core.analyzers.sast import BanditAnalyzer, _semgrep_cwe
from swarm_core.analyzers.taint import TaintAnalyzer, flows_in
from swarm_core.models import FlowStep, Lane, Severity
from swarm_core.render import render, review_from_dict, review_to_dict
from tests.conftest import SARIF_SCHEMA
from tests.helpers import only, review_repo

FLASK = "from flask import Flask, request, redirect, make_response, render_template, session\n"


def found(body: str, header: str = FLASK) -> set[tuple[str, int]]:
    """(kind, sink line) of every flow in a module made of `header` and the dedented `body`."""
    return {(f.kind, f.line) for f in flows_in(module(body, header))}


def module(body: str, header: str = FLASK) -> bytes:
    """The header, then the body dedented: the body's first line is line 2 after a one-line header."""
    return (header + textwrap.dedent(body).lstrip("\n")).encode()


def kinds(body: str, header: str = FLASK) -> set[str]:
    return {kind for kind, _ in found(body, header)}


# -- sinks ---------------------------------------------------------------------------------


def test_sql_built_from_a_query_argument_is_injection_and_a_parameter_is_not():
    body = """
    def search(db):
        name = request.args.get("name")
        cur = db.cursor()
        cur.execute(f"SELECT id FROM users WHERE name = '{name}'")
        cur.execute("SELECT id FROM users WHERE name = ?", (name,))
    """
    assert found(body) == {("sqli", 5)}


def test_shell_commands_but_not_an_argument_vector():
    body = """
    import os, shlex, subprocess

    def ping():
        host = request.form["host"]
        os.system("ping -c 1 " + host)
        subprocess.run(["ping", "-c", "1", host])
        subprocess.run(["sh", "-c", f"ping {host}"])
        subprocess.run(f"ping {shlex.quote(host)}", shell=True)
        subprocess.run([host])
    """
    assert found(body) == {("cmdi", 6), ("cmdi", 8), ("cmdi", 10)}


def test_shell_program_survives_a_platform_branch():
    body = """
    import os, subprocess

    def run():
        arg = request.args["a"]
        argv = []
        if os.name == "nt":
            argv.append("cmd.exe")
            argv.append("/c")
        else:
            argv.append("sh")
            argv.append("-c")
        argv.append(f"echo {arg}")
        subprocess.run(argv)
    """
    assert found(body) == {("cmdi", 14)}


def test_paths_chosen_by_the_client_unless_cleaned_or_checked():
    body = """
    import os, pathlib
    from werkzeug.utils import secure_filename

    BASE = "/srv/files"

    def read():
        name = request.args["file"]
        open(os.path.join(BASE, name)).read()
        open(os.path.join(BASE, secure_filename(name))).read()
        target = (pathlib.Path(BASE) / name).resolve()
        if not str(target).startswith(BASE):
            return "no"
        return target.read_text()
    """
    assert found(body) == {("pathtraver", 9)}


def test_redirects_to_client_urls_unless_the_host_is_allowed():
    body = """
    from urllib.parse import urlparse

    ALLOWED = ["example.com"]

    def go():
        nxt = request.args.get("next", "/")
        return redirect(nxt)

    def safe_go():
        nxt = request.args.get("next", "/")
        parsed = urlparse(nxt)
        if parsed.netloc not in ALLOWED:
            return redirect("/")
        return redirect(nxt)
    """
    assert found(body) == {("redirect", 8)}


def test_html_returned_from_a_route_unless_escaped():
    body = """
    import html
    app = Flask(__name__)

    @app.route("/hello")
    def hello():
        who = request.args["who"]
        return f"<p>Hello {who}</p>"

    @app.route("/hello2")
    def hello2():
        who = request.args["who"]
        return f"<p>Hello {html.escape(who)}</p>"

    @app.route("/hello3")
    def hello3():
        who = request.args["who"]
        return render_template("hello.html", who=who)

    @app.route("/hello4")
    def hello4():
        resp = make_response(request.cookies.get("c"))
        return resp

    @app.route("/hello5")
    def hello5():
        return {"who": request.args["who"]}
    """
    assert found(body) == {("xss", 8), ("xss", 22)}


def test_xpath_built_from_input_but_not_a_bound_variable():
    body = """
    from lxml import etree

    def find(doc):
        name = request.form["name"]
        tree = etree.parse(doc)
        tree.xpath(f"//user[@name='{name}']")
        tree.xpath("//user[@name=$n]", n=name)
        tree.xpath(f"//user[@name='{name.replace("'", "&apos;")}']")
    """
    assert found(body) == {("xpathi", 7)}


def test_ldap_filters_unless_escaped():
    body = """
    from ldap3.utils.conv import escape_filter_chars

    def lookup(conn):
        uid = request.args["uid"]
        conn.search("ou=people", f"(uid={uid})")
        conn.search("ou=people", f"(uid={escape_filter_chars(uid)})")
        conn.search_s("ou=people", 2, "(uid=%s)" % uid)
    """
    assert found(body) == {("ldapi", 6), ("ldapi", 8)}


def test_unsafe_loaders_but_not_safe_ones():
    body = """
    import pickle, yaml

    def load():
        blob = request.get_data()
        pickle.loads(blob)
        yaml.load(blob, Loader=yaml.SafeLoader)
        yaml.load(blob, Loader=yaml.Loader)
        yaml.safe_load(blob)
    """
    assert found(body) == {("deserialization", 6), ("deserialization", 8)}


def test_eval_of_input_but_not_of_a_number():
    body = """
    def calc():
        expr = request.form["expr"]
        eval(expr)
        eval(str(int(expr)))
        exec("x = " + expr)
    """
    assert found(body) == {("codeinj", 4), ("codeinj", 6)}


def test_cookie_flags():
    body = """
    def login():
        resp = make_response("ok")
        resp.set_cookie("sid", "v")
        resp.set_cookie("sid", "v", secure=True, httponly=True)
        resp.set_cookie("sid", "v", secure=True, httponly=False)
        return resp
    """
    assert found(body) == {("securecookie", 4), ("httponly", 4), ("httponly", 6)}


def test_xml_external_entities_only_with_a_resolving_parser():
    body = """
    import xml.sax, xml.sax.handler, xml.dom.minidom
    from lxml import etree

    def upload():
        data = request.get_data()
        etree.fromstring(data, etree.XMLParser(resolve_entities=True))
        etree.fromstring(data)
        parser = xml.sax.make_parser()
        parser.setFeature(xml.sax.handler.feature_external_ges, True)
        xml.dom.minidom.parseString(data, parser)
        quiet = xml.sax.make_parser()
        xml.dom.minidom.parseString(data, quiet)
    """
    assert found(body) == {("xxe", 7), ("xxe", 11)}


def test_session_written_from_the_request():
    body = """
    def remember():
        session["user"] = request.args["user"]
        session[request.args["k"]] = "1"
        session["theme"] = "dark"
    """
    assert found(body) == {("trustbound", 3), ("trustbound", 4)}


def test_django_view_and_fastapi_route_parameters_are_sources():
    django = """
    from django.http import HttpResponse, HttpResponseRedirect

    def view(request):
        return HttpResponse("<b>" + request.GET["q"] + "</b>")

    def jump(request):
        return HttpResponseRedirect(request.POST.get("to"))
    """
    fastapi = """
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse
    import subprocess

    app = FastAPI()

    @app.get("/greet")
    def greet(name: str):
        return HTMLResponse(f"<b>{name}</b>")

    @app.get("/echo")
    def echo(name: str):
        return name

    async def helper(request: Request):
        subprocess.run(request.query_params["cmd"], shell=True)

    def plain(name):
        subprocess.run(name, shell=True)
    """
    assert found(django, header="") == {("xss", 4), ("redirect", 7)}
    assert found(fastapi, header="") == {("xss", 9), ("cmdi", 16)}


# -- traps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("num", "expected"), [(86, set()), (106, {"cmdi"})])
def test_constant_conditions_fold_and_the_dead_branch_is_dropped(num, expected):
    body = f"""
    import os

    def run():
        param = request.args["p"]
        num = {num}
        if 7 * 42 - num > 200:
            bar = "This_should_always_happen"
        else:
            bar = param
        os.system("echo " + bar)
    """
    assert kinds(body) == expected


def test_conditional_expression_on_a_constant():
    body = """
    import os

    def run():
        param = request.args["p"]
        num = 106
        bar = "safe" if 7 * 18 + num > 200 else param
        os.system(bar)
        other = param if 7 * 18 + num > 200 else "safe"
        os.system(other)
    """
    assert found(body) == {("cmdi", 10)}


@pytest.mark.parametrize(("index", "expected"), [(0, {"cmdi"}), (1, set()), (2, {"cmdi"})])
def test_match_on_a_constant_runs_one_case(index, expected):
    body = f"""
    import os

    def run():
        param = request.args["p"]
        guess = "ABC"[{index}]
        match guess:
            case "A":
                bar = param
            case "B":
                bar = "bob"
            case "C" | "D":
                bar = param
            case _:
                bar = "other"
        os.system(bar)
    """
    assert kinds(body) == expected


@pytest.mark.parametrize(("read", "expected"), [("keyA", set()), ("keyB", {"sqli"})])
def test_dict_and_configparser_keep_keys_apart(read, expected):
    body = f"""
    import configparser

    def run(cur):
        param = request.args["p"]
        values = {{}}
        values["keyA"] = "a-value"
        values["keyB"] = param
        cur.execute("SELECT " + values["{read}"])
        conf = configparser.ConfigParser()
        conf.add_section("s")
        conf.set("s", "keyA", "a-value")
        conf.set("s", "keyB", param)
        cur.executemany("SELECT " + conf.get("s", "{read}"), [])
    """
    assert kinds(body) == expected
    assert len(found(body)) == 2 * len(expected)


@pytest.mark.parametrize(("read", "expected"), [(0, {"pathtraver"}), (1, set())])
def test_list_pop_shifts_the_elements(read, expected):
    body = f"""
    def run():
        param = request.args["p"]
        items = []
        items.append("safe")
        items.append(param)
        items.append("moresafe")
        items.pop(0)
        open(items[{read}])
    """
    assert kinds(body) == expected


def test_slices_of_lists_keep_elements_and_slices_of_strings_keep_taint():
    body = """
    import os

    def run():
        param = request.args["p"]
        items = [param, "a", "b"]
        os.system(items[1:][0])
        os.system(items[:1][0])
        text = "help" + param + "snapes on a plane"
        os.system(text[4:-17])
        os.system(items[::2][1])
    """
    assert found(body) == {("cmdi", 8), ("cmdi", 10)}


def test_comprehensions_carry_taint():
    body = """
    def run(cur):
        names = [n.strip() for n in request.args.getlist("n") if n]
        cur.execute("SELECT * FROM t WHERE n IN (%s)" % ",".join(names))
    """
    assert kinds(body) == {"sqli"}


def test_same_file_helpers_are_followed_through_their_returns():
    body = """
    def build(q):
        return f"SELECT * FROM t WHERE q = '{q}'"

    def fixed(q):
        return "SELECT 1"

    def run(cur):
        q = request.args["q"]
        cur.execute(build(q))
        cur.execute(fixed(q))
    """
    flows = flows_in(module(body))
    assert [(f.kind, f.line, f.steps) for f in flows] == [("sqli", 10, (9, 10, 3, 10))]


def test_the_flow_runs_from_the_source_to_the_sink():
    body = """
    import os

    def run():
        param = request.args.get("p")
        bar = param
        cmd = f"echo {bar}"
        os.system(cmd)
    """
    (flow,) = flows_in(module(body))
    assert (flow.kind, flow.cwe, flow.steps, flow.sink) == ("cmdi", 78, (5, 6, 7, 8), "os.system")


def test_python_312_fstrings_parse():
    body = """
    import os

    def run():
        d = {"k": request.args["p"]}
        os.system(f"echo {d["k"]} {'x'}")
    """
    assert found(body) == {("cmdi", 6)}


def test_a_route_that_fixes_the_path_is_not_a_source():
    body = """
    import pickle

    def run():
        parts = request.path.split("/")
        pickle.loads(parts[1].encode())
    """
    assert found(body) == set()


# -- analyzer, review, outputs --------------------------------------------------------------

BASE = FLASK + textwrap.dedent(
    """
    import sqlite3

    app = Flask(__name__)


    @app.route("/old")
    def old():
        cur = sqlite3.connect("db").cursor()
        cur.execute("SELECT * FROM t WHERE a = '%s'" % request.args["a"])
        return "ok"
    """
)
HEAD = BASE + textwrap.dedent(
    """

    @app.route("/users")
    def users():
        name = request.args.get("name", "")
        query = f"SELECT id FROM users WHERE name = '{name}'"
        cur = sqlite3.connect("db").cursor()
        cur.execute(query)
        return "ok"
    """
)


def test_review_reports_the_new_flow_with_its_path_and_not_the_old_one(make_repo):
    repo = make_repo()
    repo.commit({"app.py": BASE, "tests/test_app.py": HEAD})
    repo.commit({"app.py": HEAD})
    review = review_repo(repo, analyzers=[TaintAnalyzer()])
    (f,) = only(review, "taint/")
    lines = HEAD.splitlines()
    source = next(i for i, text in enumerate(lines, 1) if "name = request.args.get" in text)
    assert (f.path, f.line, f.rule, f.cwe) == ("app.py", source + 3, "taint/sqli", 89)
    assert (f.lane, f.severity, f.category, f.source) == (Lane.SECURITY, Severity.HIGH, "sast", "taint")
    assert f.flow == (
        FlowStep(source, 'name = request.args.get("name", "")'),
        FlowStep(source + 1, "query = f\"SELECT id FROM users WHERE name = '{name}'\""),
        FlowStep(source + 3, "cur.execute(query)"),
    )
    assert f"line {source} `name = request.args.get" in f.message
    assert f.evidence == "cur.execute(query)"

    sarif = json.loads(render(review, "sarif"))
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    (result,) = sarif["runs"][0]["results"]
    steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
    assert [s["location"]["physicalLocation"]["region"]["startLine"] for s in steps] == [
        source,
        source + 1,
        source + 3,
    ]
    assert review_from_dict(review_to_dict(review)).findings[0].flow == f.flow


def test_a_changed_source_line_reports_an_unchanged_sink(make_repo):
    before = (
        FLASK + "import os\n\n\ndef run():\n    cmd = request.args.get('c', '')[:0]\n    os.system(cmd)\n"
    )
    after = before.replace("request.args.get('c', '')[:0]", "request.args.get('c', '')")
    repo = make_repo()
    repo.commit({"job.py": before})
    repo.commit({"job.py": after})
    (f,) = only(review_repo(repo, analyzers=[TaintAnalyzer()]), "taint/")
    assert (f.rule, f.line, [s.line for s in f.flow]) == ("taint/cmdi", 7, [6, 7])


def test_taint_is_a_default_analyzer():
    from swarm_core.analyzers import default_analyzers
    from swarm_core.config import SwarmConfig

    assert "taint" in [a.name for a in default_analyzers(SwarmConfig())]


def test_bandit_weak_hash_is_cwe_328(make_repo):
    repo = make_repo()
    repo.commit({"h.py": "x = 1\n"})
    repo.commit({"h.py": "import hashlib\n\n\ndef digest(b):\n    return hashlib.md5(b).hexdigest()\n"})
    (f,) = only(review_repo(repo, analyzers=[BanditAnalyzer()]), "bandit/B324")
    assert f.cwe == 328


@pytest.mark.parametrize(
    ("metadata", "cwe"),
    [
        ({"cwe": ["CWE-89: Improper Neutralization of Special Elements used in an SQL Command"]}, 89),
        ({"cwe": "CWE-78: OS Command Injection"}, 78),
        ({"owasp": "A03"}, None),
        ("not a mapping", None),
    ],
)
def test_semgrep_rule_cwe_comes_from_its_metadata(metadata, cwe):
    assert _semgrep_cwe(metadata) == cwe


WEB_SHELL = (
    FLASK + "import subprocess\n\n\ndef ls():\n    return subprocess.check_output('ls -l', shell=True)\n"
)
CLI_SHELL = "import subprocess\n\n\ndef ls():\n    return subprocess.check_output('ls -l', shell=True)\n"
WEB_TAINTED = FLASK + (
    "import subprocess\n\n\ndef ls():\n    return subprocess.check_output('ls ' + request.args['d'], shell=True)\n"
)


@pytest.mark.parametrize(
    ("source", "kept"),
    [(WEB_SHELL, False), (CLI_SHELL, True), (WEB_TAINTED, True)],
    ids=["web-constant", "script", "web-request-data"],
)
def test_bandit_sink_shapes_stand_unless_web_code_shows_no_request_data(make_repo, source, kept):
    repo = make_repo()
    repo.commit({"svc.py": "x = 1\n"})
    repo.commit({"svc.py": source})
    review = review_repo(repo, analyzers=[BanditAnalyzer()])
    assert bool(only(review, "bandit/B602")) is kept
    everything = review_repo(repo, analyzers=[BanditAnalyzer(defer_to_taint=False)])
    assert len(only(everything, "bandit/B602")) == 1


def test_a_file_nested_too_deeply_is_skipped_and_logged_while_others_are_analysed(make_repo, caplog):
    deep = (
        FLASK
        + "import os\n\n\ndef f():\n    x = "
        + " + ".join(["request.args['a']"] * 2000)
        + "\n    os.system(x)\n"
    )
    shallow = FLASK + "import os\n\n\ndef f():\n    os.system(request.args['a'])\n"
    repo = make_repo()
    repo.commit({"seed.py": "x = 1\n"})
    repo.commit({"deep.py": deep, "shallow.py": shallow})
    review = review_repo(repo, analyzers=[TaintAnalyzer()])
    assert [(f.path, f.rule) for f in only(review, "taint/")] == [("shallow.py", "taint/cmdi")]
    assert "deep.py is nested too deeply" in caplog.text
