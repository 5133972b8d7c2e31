"""The local council (seed 002 §1, "Ollama local only"): drafts go to a loopback Ollama and nowhere else.

Against a real HTTP stand-in of Ollama's `/api/chat` (tests/standins/ollama.py) through the official client."""
from __future__ import annotations

import tomllib

import pytest

from chatops.config import ConfigError, parse_settings
from jobs.compliance.council import INSTRUCTIONS, Council, CouncilUnavailable
from jobs.errors import Invalid
from tests.conftest import run_cli
from tests.standins.ollama import OllamaStandIn

PHRASE = "heliotrope-walrus-8841"      # appears only in this record
RECORD = {"incident_id": "INC-9", "severity": "SEV1", "what": f"vendor export bucket {PHRASE} was public",
          "contained": "bucket made private 14:02 PT", "at_risk": "names and emails of 312 customers"}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def ollama():
    with OllamaStandIn() as standin:
        yield standin


def _council(standin: OllamaStandIn) -> Council:
    raw = {"compliance": {"council": {"endpoint": standin.endpoint, "model": "llama3.1:8b", "timeout_seconds": 10}}}
    return Council.from_settings(parse_settings(raw))


def test_a_draft_carries_the_record_to_the_loopback_model_and_returns_its_text(ollama):
    ollama.reply = "What happened: bucket public.\nWhat is contained: private now.\nWhat is at risk: 312 customers."

    draft = _council(ollama).draft("ceo_dm", RECORD)

    assert draft == ollama.reply
    [request] = ollama.requests
    assert (request.method, request.path, request.client) == ("POST", "/api/chat", "127.0.0.1")
    assert request.body["model"] == "llama3.1:8b" and request.body["stream"] is False
    system, user = request.body["messages"]
    assert system == {"role": "system", "content": INSTRUCTIONS["ceo_dm"]}
    assert user["role"] == "user" and PHRASE in user["content"] and "312 customers" in user["content"]


@pytest.mark.parametrize(("kind", "asks_for"), [
    ("ceo_dm", "'What is at risk:'"),
    ("remediation", "SOP delta"),
    ("postmortem", "'## CEO brief'"),
])
def test_each_kind_asks_for_what_the_sop_names(ollama, kind, asks_for):
    _council(ollama).draft(kind, RECORD)
    [request] = ollama.requests
    assert asks_for in request.body["messages"][0]["content"]


def test_with_no_endpoint_nothing_is_drafted_and_nothing_is_sent(ollama, monkeypatch):
    # Even with the client's own defaults pointing at the stand-in, an unconfigured council sends nothing.
    monkeypatch.setenv("OLLAMA_HOST", ollama.endpoint)
    for name in PROXY_VARIABLES:
        monkeypatch.setenv(name, ollama.endpoint)
    council = Council.from_settings(parse_settings({}))
    assert council.draft("postmortem", RECORD) is None
    assert ollama.requests == []


def test_a_proxy_in_the_environment_never_sees_the_record(ollama, monkeypatch):
    with OllamaStandIn() as proxy:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, proxy.endpoint)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert _council(ollama).draft("remediation", RECORD)
        assert proxy.requests == []
    assert len(ollama.requests) == 1


def test_a_redirect_is_not_followed(ollama):
    with OllamaStandIn() as elsewhere:
        ollama.redirect(location=f"{elsewhere.endpoint}/api/chat")
        with pytest.raises(CouncilUnavailable, match="answered 307"):
            _council(ollama).draft("ceo_dm", RECORD)
        assert elsewhere.requests == []


@pytest.mark.parametrize(("fault", "message"), [
    (lambda s: s.fail(status=500), "answered 500 (model runner has unexpectedly stopped) to the ceo_dm draft"),
    (lambda s: s.fail(status=404, error="model 'llama3.1:8b' not found"), "answered 404"),
    (lambda s: s.drop(), "could not be reached for the ceo_dm draft"),
    (lambda s: s.garble(), "not an Ollama chat response"),
    (lambda s: setattr(s, "reply", "  "), "returned an empty ceo_dm draft"),
])
def test_a_failing_model_is_reported_with_the_fix_and_without_the_record(ollama, fault, message):
    fault(ollama)
    with pytest.raises(CouncilUnavailable) as raised:
        _council(ollama).draft("ceo_dm", RECORD)
    text = str(raised.value)
    assert message in text and ollama.endpoint in text and "ollama pull llama3.1:8b" in text
    assert PHRASE not in text


def test_a_stopped_model_is_reported_as_unreachable(ollama):
    council = _council(ollama)
    ollama.stop()
    with pytest.raises(CouncilUnavailable, match="could not be reached"):
        council.draft("postmortem", RECORD)


def test_an_unknown_draft_kind_is_refused_before_anything_is_sent(ollama):
    with pytest.raises(Invalid, match="draft kind 'press_release': expected one of ceo_dm, remediation, postmortem"):
        _council(ollama).draft("press_release", RECORD)
    assert ollama.requests == []


@pytest.mark.parametrize("endpoint", [
    "http://10.0.0.5:11434", "http://192.168.1.20:11434", "http://ollama.internal:11434", "http://0.0.0.0:11434",
    "http://[fe80::1]:11434", "http://[::ffff:127.0.0.1]:11434", "http://127.0.0.1.nip.io:11434",
    "https://api.ollama.com", "http://localhost.evil.example:11434",
])
def test_a_non_loopback_endpoint_is_refused_at_config_load_naming_the_key(endpoint):
    with pytest.raises(ConfigError) as raised:
        parse_settings({"compliance": {"council": {"endpoint": endpoint, "model": "llama3.1:8b"}}})
    assert str(raised.value).startswith(f'compliance.council.endpoint = "{endpoint}": not a loopback address')


@pytest.mark.parametrize("endpoint", ["http://user@127.0.0.1:11434", "ftp://127.0.0.1:11434",
                                      "http://127.0.0.1:11434/api", "127.0.0.1:11434", "http://127.0.0.1:99999"])
def test_an_endpoint_that_is_not_a_plain_url_is_refused_naming_the_key(endpoint):
    with pytest.raises(ConfigError, match=r"^compliance\.council\.endpoint = .*expected"):
        parse_settings({"compliance": {"council": {"endpoint": endpoint, "model": "llama3.1:8b"}}})


@pytest.mark.parametrize(("endpoint", "kept"), [
    ("http://127.0.0.1:11434", "http://127.0.0.1:11434"), ("http://127.8.9.10:5000/", "http://127.8.9.10:5000"),
    ("http://[::1]:11434", "http://[::1]:11434"), ("http://localhost", "http://localhost:11434"),
])
def test_loopback_endpoints_are_accepted(endpoint, kept):
    settings = parse_settings({"compliance": {"council": {"endpoint": endpoint, "model": "llama3.1:8b"}}})
    assert settings.compliance.council.endpoint == kept


def test_an_endpoint_without_a_model_is_refused_naming_the_model_key():
    with pytest.raises(ConfigError, match=r"^compliance\.council\.model: missing while compliance\.council\.endpoint"):
        parse_settings({"compliance": {"council": {"endpoint": "http://127.0.0.1:11434"}}})


def test_a_council_built_by_hand_with_a_remote_endpoint_is_refused():
    with pytest.raises(Invalid, match="not a loopback address"):
        Council("http://10.1.2.3:11434", "llama3.1:8b")


def test_config_check_stops_on_a_remote_council_in_one_line(config_file):
    config_file.write_text(config_file.read_text() + '\n[compliance.council]\nendpoint = "http://10.0.0.5:11434"\n'
                           'model = "llama3.1:8b"\n')
    done = run_cli("config", "check", config=config_file)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert 'compliance.council.endpoint = "http://10.0.0.5:11434": not a loopback address' in done.stderr


def test_the_shipped_config_has_no_council_and_valid_holiday_settings():
    from tests.conftest import REPO

    settings = parse_settings(tomllib.loads((REPO / "config.toml").read_text()))
    assert settings.compliance.council.endpoint == "" and Council.from_settings(settings).draft("ceo_dm", RECORD) is None
    assert (settings.compliance.holidays_country, settings.compliance.holidays) == ("US", ())
