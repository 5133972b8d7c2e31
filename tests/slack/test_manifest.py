"""slack-manifest.yml asks for exactly the scopes the code needs: every Web API method the code calls
is covered, every event it listens to is subscribed, and no scope is asked for that nothing uses."""
from __future__ import annotations

import re

from tests.conftest import REPO

#: Web API method (as slack_sdk names it) → the bot scopes Slack requires for it.
METHOD_SCOPES = {
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "conversations_open": {"im:write"},
    "views_open": set(),
    "views_publish": set(),
    "files_upload_v2": {"files:write"},    # files.getUploadURLExternal + files.completeUploadExternal
    "conversations_list": {"channels:read", "groups:read"},   # chatops doctor: public and private channels
}
#: Bot event → the scope that delivers it.
EVENT_SCOPES = {"app_home_opened": set(), "message.channels": {"channels:history"},
                "message.groups": {"groups:history"}, "message.im": {"im:history"}}
#: Scopes no method call shows: /ops itself, and posting to #ops-* channels the bot was not invited to.
OTHER_SCOPES = {"commands", "chat:write.public"}


def _manifest_list(text: str, key: str) -> set[str]:
    """The items of the YAML block list under `key:` (the manifest's own simple shape)."""
    match = re.search(rf"^(\s*){re.escape(key)}:\s*\n((?:\1\s+- .*\n)+)", text, re.M)
    assert match, f"slack-manifest.yml has no list {key}"
    return {line.split("#")[0].strip()[2:].strip() for line in match.group(2).splitlines()}


def _methods_called() -> set[str]:
    calls = set()
    for path in (REPO / "chatops").rglob("*.py"):
        calls |= set(re.findall(r"\bclient\.([A-Za-z0-9_]+)\(", path.read_text()))
    return calls


def test_manifest_scopes_match_the_api_methods_and_events_used():
    text = (REPO / "slack-manifest.yml").read_text()
    scopes, events = _manifest_list(text, "bot"), _manifest_list(text, "bot_events")
    called = _methods_called()
    assert called, "no Web API call found: the pattern no longer matches the code"
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add the scopes of {sorted(unknown)} to METHOD_SCOPES and to slack-manifest.yml"
    assert set(EVENT_SCOPES) == events
    needed = set().union(*(METHOD_SCOPES[m] for m in called), *EVENT_SCOPES.values(), OTHER_SCOPES)
    assert scopes == needed, f"missing {sorted(needed - scopes)}, unused {sorted(scopes - needed)}"


def test_manifest_declares_ops_interactivity_and_socket_mode():
    text = (REPO / "slack-manifest.yml").read_text()
    assert re.search(r"^\s*- command: /ops$", text, re.M)
    assert re.search(r"^\s*interactivity:\s*\n\s*is_enabled: true", text, re.M)
    assert re.search(r"^\s*home_tab_enabled: true$", text, re.M)
    assert re.search(r"^\s*socket_mode_enabled: true$", text, re.M)
