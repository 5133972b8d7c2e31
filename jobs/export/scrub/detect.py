"""Find what a decoded string holds and decide, per match, whether it goes or stays.

Input is text already decoded (a JSON string value, or a text file), so `\\n` inside a PEM body is a
real newline and `\\"` a plain quote (docs/measured.md, "Scrub": match decoded strings, not raw lines). Output is
a list of `Hit`s with their verdict; the caller masks the `REMOVE` ones.

Verdicts follow the grading of seed 000 §3: `REMOVE` (a credential or PII: masked by the scrub; if the
verification pass still sees one, the grade is LOW), `KEEP` (matched but assessed non-sensitive:
approved email, internal IP, placeholder, allowlisted; grade at most MEDIUM), `INDIRECT` (describes or
names a credential without its value: kept, grade LOW so a person reviews).
"""
from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import ipaddress
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Iterable, Sequence

from jobs.export.scrub import bounded
from jobs.export.scrub.bounded import Work
from jobs.export.scrub.hscache import Compile, compile_database
from jobs.export.scrub.needles import build_needle_index
from jobs.export.scrub.rules import Rule, RuleKind
from jobs.export.scrub.text import (LEARNED_MAX_TRIM, MARKER, escape_view, is_placeholder, learned_candidates,
                                    line_view, looks_like_code, shannon_entropy, widen)

LEARNED_RULE_ID = "known-secret"
SENSITIVE_ITEM_RULE_ID = "sensitive-item-name"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Splits text into the candidates a learned value is compared with (see `learned_candidates`).
_COARSE = re.compile(r"[^\s\"'`<>(){}\[\],;\\]+")
_FINE = re.compile(r"[^\s\"'`<>(){}\[\],;\\=:@/?&|]+")
_RESERVED_EMAIL_DOMAIN = re.compile(
    r"(?i)(?:^|\.)(?:example\.(?:com|org|net)|[a-z0-9-]+\.(?:test|example|invalid|localhost|local))$")
_FILE_TLD = re.compile(r"(?i)\.(?:png|jpe?g|gif|svg|webp|ico|js|mjs|cjs|ts|tsx|jsx|json|css|scss|html?|md|py|rb|go|rs"
                       r"|java|kt|swift|lock|ya?ml|toml|txt|log|sh|zip|gz|tar|pdf|map|wasm|woff2?)$")
_DOC_NETS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"))

#: Addresses that are not a person's: services and no-reply senders (a bot's `Co-Authored-By:` trailer,
#: GitHub's private commit addresses, notification senders). Kept, and listed by `scrub rules`.
SERVICE_EMAIL_LOCALS = frozenset({"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
                                  "do_not_reply", "mailer-daemon", "notifications", "notification"})
SERVICE_EMAIL_DOMAINS = ("users.noreply.github.com", "noreply.github.com", "noreply.gitlab.com")
#: Domains code and docs use as stand-ins beside the reserved ones (RFC 2606/6761 names are kept too).
PLACEHOLDER_EMAIL_DOMAINS = frozenset({"domain.com", "yourdomain.com", "yourcompany.com", "company.com",
                                       "acme.com", "foo.com", "bar.com", "foobar.com", "email.test",
                                       "mydomain.com", "somewhere.com"})

#: Spans whose base64 is not a credential: public keys and certificates, image and document data.
_PUBLIC_BLOCK = re.compile(r"-----BEGIN (?:PGP PUBLIC KEY BLOCK|PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE|"
                           r"X509 CRL|CERTIFICATE REQUEST|PGP SIGNATURE|SSH2 PUBLIC KEY|PGP MESSAGE)-----"
                           r"(?:[^-]|-(?!----END ))*(?:-----END [A-Z0-9 ]+-----)?")
_BINARY_BLOB = re.compile(r"(?:base64,|iVBORw0KGgo|/9j/|R0lGOD|UklGR|JVBERi0|AAAA[A-Za-z0-9]GZ0eXA|UEsDB|H4sI)"
                          r"[A-Za-z0-9+/=\s\\]{60,}")
#: Each benign pattern with the literals one of which every match starts with.
_BENIGN_PATTERNS = ((_PUBLIC_BLOCK, ("-----BEGIN ",)),
                    (_BINARY_BLOB, ("base64,", "iVBORw0KGgo", "/9j/", "R0lGOD", "UklGR", "JVBERi0", "AAAA", "UEsDB",
                                    "H4sI")))
#: All of them, looked for in the needle index's one pass (needles.py `marks`).
BENIGN_MARKS = tuple(literal for _, literals in _BENIGN_PATTERNS for literal in literals)
_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
BLOB_MARGIN = 64          # base64 beyond a match on one side that makes it part of a larger blob


class Verdict(StrEnum):
    REMOVE = "remove"
    KEEP = "keep"
    INDIRECT = "indirect"


@dataclass(frozen=True)
class Hit:
    rule: str
    start: int
    end: int
    verdict: Verdict
    reason: str          # why kept ("approved email", "placeholder", …) or what it is
    value: str           # the matched text: used to build the marker, never reported
    rank: int = 0        # which rule names a merged span: provider 0, generic 1, entropy 2, PII 3


@dataclass(frozen=True)
class LearnedSecrets:
    """Keyed fingerprints of known secret values, by UTF-8 length (the store holds only these)."""

    by_length: dict[int, frozenset[str]]

    @property
    def lengths(self) -> frozenset[int]:
        return frozenset(self.by_length)

    def matches(self, key: bytes, candidate: bytes) -> bool:
        digests = self.by_length.get(len(candidate))
        return bool(digests) and fingerprint(key, candidate) in digests


def fingerprint(key: bytes, value: bytes) -> str:
    """HMAC-SHA256 of a learned value under the scrub key, with a domain tag (never the marker's)."""
    return hmac.new(key, b"learned\x00" + value, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Policy:
    """What config says is non-sensitive or sensitive, plus the learned fingerprints."""

    approved_emails: frozenset[str]
    internal_networks: tuple[IPNetwork, ...]
    sensitive_items: tuple[str, ...]
    learned: LearnedSecrets
    key: bytes


#: Rules whose context may span lines (a PEM block; an XML element written over three lines).
MULTILINE_RULES = ("private-key", "putty-private-key", "generic-xml-element", "generic-env-name-value")
#: Rules whose context may put the value on the next line (`machine h\n  password p`).
NEXT_LINE_RULES = frozenset({"netrc-password", "generic-xml-element", "vault-unseal-key", "generic-env-name-value"})


@dataclass
class _Benign:
    """Spans of one text that hold base64 nobody should redact, found once per text and only when a
    candidate needs them (public key and certificate blocks, images, documents)."""

    text: str
    marked: bool = True   # False when the needle index saw none of BENIGN_MARKS in the text
    _spans: list[tuple[int, int]] | None = field(default=None)

    def covers(self, start: int, end: int) -> bool:
        if self._spans is None:
            # each pattern starts with one of its literals: a text holding none of them is not searched
            self._spans = [(m.start(), m.end()) for pattern, literals in _BENIGN_PATTERNS if self.marked
                           and any(literal in self.text for literal in literals)
                           for m in pattern.finditer(self.text)]
        return any(a <= start and end <= b for a, b in self._spans)


class Detector:
    def __init__(self, rules: Sequence[Rule], policy: Policy, use_hyperscan: bool = True,
                 compile_db: Compile = compile_database) -> None:
        self.rules = tuple(rules)
        self.policy = policy
        self._sensitive = _sensitive_pattern(policy.sensitive_items)
        self._multiline = frozenset(r.id for r in rules if r.id in MULTILINE_RULES)
        self._needles = build_needle_index(self.rules, compile_db, BENIGN_MARKS) if use_hyperscan else None

    def detect(self, text: str, rule_indexes: Iterable[int] | None = None, learned: bool = True,
               sensitive: bool = True, context: str = "", work: Work | None = None) -> list[Hit]:
        """Every hit in `text`, overlaps resolved. `context` (a JSON key) precedes the text for
        assignment rules, so `{"API_TOKEN": "…"}` is read as `API_TOKEN="…"`.

        Text holding backslash escapes (`\\n`, `\\"`: a JSON document inside a string that is not
        valid JSON, a log line, source code) is matched on its unescaped view, so an escape never
        hides a boundary (`\\nsk-ant-…`) or a quote (`db_password: \\"…\\"`); spans map back."""
        views = escape_view(text)
        if views:
            hits = self._detect(views[-1].text, rule_indexes, learned, sensitive, context, work)
            for view in reversed(views):
                hits = [view.mapped(h) for h in hits]
            return resolve([_with_value(h, text) for h in hits], text)
        return self._detect(text, rule_indexes, learned, sensitive, context, work)

    def _detect(self, text: str, rule_indexes: Iterable[int] | None, learned: bool, sensitive: bool,
                context: str, work: Work | None) -> list[Hit]:
        if rule_indexes is None:
            rule_indexes = range(len(self.rules))
        lower = text.lower()
        found = self._needles.scan(text) if self._needles is not None else None
        hits: list[Hit] = []
        view = None
        benign = _Benign(text, found.marks if found is not None else True)
        for index in rule_indexes:
            rule = self.rules[index]
            if rule.keywords and not (index in found.keywords if found is not None
                                      else any(k in lower for k in rule.keywords)):
                if not (context and any(k in context.lower() for k in rule.keywords)):
                    continue
            if rule.id in self._multiline:
                view = view if view is not None else (line_view(text) or False)
                if view:
                    hits += [self._mapped(h, view)
                             for h in self._rule_hits(rule, view.text, "", work, _Benign(view.text))]
                    continue
            hits += self._rule_hits(rule, text, context, work, benign, lower,
                                    found.needles.get(index, set()) if found is not None else None)
        if sensitive and self._sensitive is not None:
            hits += [Hit(SENSITIVE_ITEM_RULE_ID, m.start(), m.end(), Verdict.INDIRECT,
                         "names a sensitive password-manager item", m.group(0))
                     for m in self._sensitive.finditer(text)]
        if learned and self.policy.learned.by_length:
            hits += self._learned_hits(text)
        if "[REDACTED:" in text:   # a marker is never a finding, nor part of one (idempotence)
            markers = [(m.start(), m.end()) for m in MARKER.finditer(text)]
            hits = [h for h in hits if not _overlaps(markers, h.start, h.end)]
        return resolve(hits, text)

    def _mapped(self, hit: Hit, view) -> Hit:
        start, end = view.to_original(hit.start), view.to_original(hit.end)
        return Hit(hit.rule, start, end, hit.verdict, hit.reason, hit.value, hit.rank)

    def _rule_hits(self, rule: Rule, text: str, context: str, work: Work | None, benign: _Benign,
                   lower: str | None = None, needle_hits: set[int] | None = None) -> list[Hit]:
        out: list[Hit] = []
        if context and rule.kind in (RuleKind.SECRET,) and "secret" in rule.pattern.groupindex:
            # as an assignment and as the JSON it came from: some rules know only one of the two forms
            for prefix in (context[-256:] + '="', json.dumps(context[-256:]) + ': "'):
                for m in bounded.finditer(rule.pattern, prefix + text[:4096], work):
                    if m.start("secret") >= len(prefix):
                        hit = self._judge(rule, text, m.start("secret") - len(prefix),
                                          m.end("secret") - len(prefix), benign, context)
                        if hit:
                            out.append(hit)
        for m in _matches(rule, text, lower, work, needle_hits):
            lead = ""
            if "secret" in rule.pattern.groupindex and m.group("secret") is not None:
                start, end = m.start("secret"), m.end("secret")
                lead = text[m.start():start]
                if rule.id not in NEXT_LINE_RULES and _value_on_next_line(lead):
                    continue   # `KEY=` with nothing after it: the next line is not its value
            else:
                start, end = m.start(), m.end()
            hit = self._judge(rule, text, start, end, benign, lead)
            if hit:
                out.append(hit)
        return out

    def _judge(self, rule: Rule, text: str, start: int, end: int, benign: _Benign, lead: str = "") -> Hit | None:
        kind = rule.kind
        if kind in (RuleKind.SECRET, RuleKind.ENTROPY) and not lead and _inside_blob(text, start, end):
            return None   # a run inside a longer base64 blob (an image, a bundle): not a token of its own
        if kind in (RuleKind.SECRET, RuleKind.ENTROPY) and benign_candidate(rule) and benign.covers(start, end):
            return None
        if kind in (RuleKind.SECRET, RuleKind.ENTROPY):
            start, end = widen(text, start, end)
        value = text[start:end]
        if MARKER.fullmatch(value) or value.startswith("[REDACTED:"):
            return None
        if kind is RuleKind.EMAIL:
            return self._email(rule, start, end, value)
        if kind is RuleKind.IP:
            return self._ip(rule, start, end, value)
        if kind is RuleKind.INDIRECT:
            return Hit(rule.id, start, end, Verdict.INDIRECT, rule.description, value)
        if kind is RuleKind.ENTROPY and not _random_token(text, start, end, value, rule.entropy):
            return None
        if any(a.search(value) for a in rule.allowlist):
            return Hit(rule.id, start, end, Verdict.KEEP, "allowlisted value", value)
        body = _body(rule, value)
        if is_placeholder(body) or _angle_enclosed(text, start, end):
            return Hit(rule.id, start, end, Verdict.KEEP, "placeholder", value)
        if lead and rule.entropy > 0 and (looks_like_code(value) or _names_itself(lead, value)):
            return None   # `token = Base.url_encode64(…)`, `addPassword = "#add-password"`: code, not a value
        if lead and rule.id.startswith("generic-") and _names_a_setting(lead):
            return None   # `token_type = …`, `<secretName>…`, `password_file: …`: about a secret, not one
        if lead and _scope_path(lead, value):
            return None   # `test_password.py::test_reset PASSED`, `auth::Token`: a `::` path, not an assignment
        if rule.id.startswith("generic-secret") and _WORDS_ONLY.fullmatch(value):
            return None   # `token_type = 'bare-quoted-string'`: an enum value or identifier, not a key
        validate = _VALIDATORS.get(rule.id)
        if validate is not None and not validate(text, start, value):
            return None
        if shannon_entropy(body) < _entropy_floor(rule, body):
            if kind is RuleKind.ENTROPY or rule.id.startswith("generic-"):
                return None
            return Hit(rule.id, start, end, Verdict.KEEP, "placeholder (low entropy)", value)
        return Hit(rule.id, start, end, Verdict.REMOVE, rule.description, value,
                   2 if kind is RuleKind.ENTROPY else 1 if rule.id.startswith("generic-") else 0)

    def _email(self, rule: Rule, start: int, end: int, value: str) -> Hit | None:
        local, _, domain = value.rpartition("@")
        if _FILE_TLD.search(domain) or local.lower() == "git":
            return None   # icon@2x.png, git@github.com: not addresses
        if value.lower() in self.policy.approved_emails:
            return Hit(rule.id, start, end, Verdict.KEEP, "approved email", value)
        if _RESERVED_EMAIL_DOMAIN.search(domain) or domain.lower() in PLACEHOLDER_EMAIL_DOMAINS:
            return Hit(rule.id, start, end, Verdict.KEEP, "placeholder (reserved domain)", value)
        if is_service_email(local, domain):
            return Hit(rule.id, start, end, Verdict.KEEP, "service address (not a person's)", value)
        return Hit(rule.id, start, end, Verdict.REMOVE, rule.description, value, 3)

    def _ip(self, rule: Rule, start: int, end: int, value: str) -> Hit | None:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return None
        if address.version == 6 and (value.count(":") + (value.count("::") and 1) < 3
                                     or len([g for g in value.split(":") if g]) < 3):
            return None   # `a::b`, `[::2]`, `::`, Erlang's `x@1::[any()]`: code far more often than addresses
        if any(address in net for net in self.policy.internal_networks if net.version == address.version):
            return Hit(rule.id, start, end, Verdict.KEEP, "internal address", value)
        if any(address in net for net in _DOC_NETS if net.version == address.version):
            return Hit(rule.id, start, end, Verdict.KEEP, "placeholder (documentation range)", value)
        if address.is_unspecified or address.is_multicast or address.is_link_local or address.is_reserved:
            return Hit(rule.id, start, end, Verdict.KEEP, "reserved address", value)
        return Hit(rule.id, start, end, Verdict.REMOVE, rule.description, value, 3)

    def _learned_hits(self, text: str) -> list[Hit]:
        learned, key = self.policy.learned, self.policy.key
        lengths = learned.lengths
        hits = []
        shortest, longest = min(lengths), max(lengths) + 2 * LEARNED_MAX_TRIM
        for splitter in (_COARSE, _FINE):
            for m in splitter.finditer(text):
                token = m.group(0)
                if len(token) * 4 < shortest or len(token) > longest:
                    continue
                raw = token.encode("utf-8", "surrogateescape")
                for length in lengths:
                    for lead, trail in learned_candidates(raw, length):
                        if learned.matches(key, raw[lead:len(raw) - trail]):
                            # trimmed marks are ASCII: one byte is one character
                            start, end = m.start() + lead, m.end() - trail
                            hits.append(Hit(LEARNED_RULE_ID, start, end, Verdict.REMOVE,
                                            "known secret (learned fingerprint)", text[start:end]))
        return hits


def is_service_email(local: str, domain: str) -> bool:
    """A service or no-reply sender (SERVICE_EMAIL_LOCALS at any domain, SERVICE_EMAIL_DOMAINS)."""
    domain = domain.lower()
    return local.lower() in SERVICE_EMAIL_LOCALS or any(
        domain == d or domain.endswith("." + d) for d in SERVICE_EMAIL_DOMAINS)


def benign_candidate(rule: Rule) -> bool:
    """Rules a public key block, an image or a document body can set off by chance: the broad
    detector and the generic assignments (a provider prefix or a PEM header is never excused)."""
    return rule.kind is RuleKind.ENTROPY or rule.id.startswith("generic-")


def _value_on_next_line(lead: str) -> bool:
    """True when the text between the assignment operator and the value crosses a line end."""
    cut = max(lead.rfind("="), lead.rfind(":"))
    return cut >= 0 and "\n" in lead[cut:]


def _inside_blob(text: str, start: int, end: int) -> bool:
    """True when base64 continues at least BLOB_MARGIN characters past the match on either side.

    Why: a prefix such as `EAA` or a 32-character run occurs by chance inside image data, minified
    bundles and bytecode; a real token is delimited. The walk is bounded, so the cost per match is too."""
    left = 0
    i = start - 1
    while i >= 0 and left < BLOB_MARGIN and text[i] in _B64:
        left += 1
        i -= 1
    if left >= BLOB_MARGIN:
        return True
    right = 0
    j = end
    n = len(text)
    while j < n and right < BLOB_MARGIN and text[j] in _B64:
        right += 1
        j += 1
    return right >= BLOB_MARGIN


def _angle_enclosed(text: str, start: int, end: int) -> bool:
    """`curl -u <user:password>`, `<your token>`: a value inside angle brackets is a stand-in."""
    value = text[start:end]
    closes = value.endswith(">") or text[end:end + 1] == ">"
    if not closes:
        return False
    before = text[max(0, start - 80):start]
    lt = before.rfind("<")
    return lt >= 0 and ">" not in before[lt:] and not any(c.isspace() for c in before[lt:])


_NAME_CHARS = re.compile(r"[^a-z0-9]")


def _names_itself(lead: str, value: str) -> bool:
    """`addPassword = "#add-password"`: the value spells the name it is assigned to."""
    name = _NAME_CHARS.sub("", re.split(r"[:=(,]", lead, maxsplit=1)[0].lower())
    spelled = _NAME_CHARS.sub("", value.lower())
    return len(spelled) >= 4 and bool(name) and (spelled in name or name.endswith(spelled))


#: Last words of a setting's name that say the value is about a secret, not the secret itself.
_SETTING_SUFFIX = re.compile(
    r"(?i)(?:name|names|type|types|file|path|dir|url|uri|endpoint|policy|length|len|size|count|encoder|provider|"
    r"manager|store|ref|mode|format|hint|label|field|header|prefix|suffix|version|expiry|expires|expiration|ttl|"
    r"timeout|algorithm|alg|env|var|variable|required|enabled|regex|pattern|location|source|kind|scope|usage)$")
_LEAD_TAIL = re.compile(r"[A-Za-z0-9_.-]+(?=[\s'\"`=:?+!<>@\[\](),]*$)")


def _names_a_setting(lead: str) -> bool:
    """The name before the value ends in a word such as `type`, `name`, `file`, `url`: `token_type`,
    `secretName`, `PASSWORD_FILE` hold something about a secret, not the secret; or it is a file name
    (`reset_password.py: line 3: …`, a linter's or a shell's message about a file)."""
    m = _LEAD_TAIL.search(lead)
    return bool(m) and bool(_SETTING_SUFFIX.search(m.group(0)) or _FILE_TLD.search(m.group(0)))


def _scope_path(lead: str, value: str) -> bool:
    """`name::rest`: the `:` the rule took for an assignment is the first of a `::` (a pytest node id,
    a C++, Rust or Ruby path, a Haskell type signature), so what follows is a name, not a value."""
    return lead.rstrip().endswith(":") and value.startswith(":")


def _random_mix(text: str, start: int, value: str) -> bool:
    """A generated token mixes upper case, lower case and digits (`s.getConnectionPoolManager` does not)."""
    body = value[2:]
    return any(c.isdigit() for c in body) and any(c.isupper() for c in body) and any(c.islower() for c in body)


def _basic_credentials(text: str, start: int, value: str) -> bool:
    """`Basic <base64 of user:password>`: after an `Authorization` header name any value is taken;
    elsewhere the value must decode to text holding a colon, which `Basic configuration` does not."""
    if "authoriz" in text[max(0, start - 40):start].lower():
        return True
    body = value.rstrip("=")
    try:
        decoded = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    text = decoded.decode("utf-8", "replace")
    return ":" in text and sum(c.isprintable() for c in text) >= 0.9 * len(text)


def _not_words(text: str, start: int, value: str) -> bool:
    """A password file's last field is not words joined by - or _ (`x.py:12:3:E501:line-too-long` is a
    linter message, not a .pgpass line); its entropy floor turns away single words."""
    return not _WORDS_ONLY.fullmatch(value.lower())


#: Shape checks a rule's value must also pass (beyond entropy) to be a credential: (text, start, value).
_VALIDATORS: dict[str, Callable[[str, int, str], bool]] = {"authorization-basic": _basic_credentials,
                                                           "vault-legacy-token": _random_mix,
                                                           "generic-pgpass-line": _not_words}


#: Lower-case words joined by - or _ (`bare-quoted-string`): a name or enum value where a key is expected.
_WORDS_ONLY = re.compile(r"[a-z]{2,}(?:[-_][a-z]{2,})+")
HEX_ENTROPY_FLOOR = 3.0
_HEX = re.compile(r"[0-9a-fA-F]{16,}")


def _entropy_floor(rule: Rule, body: str) -> float:
    """The rule's floor, lowered for hex values of generic rules: 16 symbols cap hex near 4 bits per
    character, so a random 32-hex token (about 3.7) would fail a floor set for base62."""
    if rule.id.startswith("generic-") and _HEX.fullmatch(body):
        return min(rule.entropy, HEX_ENTROPY_FLOOR)
    return rule.entropy


def _body(rule: Rule, value: str) -> str:
    """The value without the rule's literal prefix, so `sk-ant-xxxx` is judged on `xxxx`."""
    lower = value.lower()
    for keyword in rule.keywords:
        if lower.startswith(keyword):
            return value[len(keyword):]
    return value


def _random_token(text: str, start: int, end: int, value: str, floor: float) -> bool:
    """The broad detector's shape test: mixed case and digits, not hex, not inside a long blob,
    not a known id (`toolu_…`, `msg_…`), random enough."""
    if not (any(c.isdigit() for c in value) and any(c.islower() for c in value) and any(c.isupper() for c in value)):
        return False
    lo, hi = start, end
    while lo > 0 and hi - lo <= 120 and (text[lo - 1].isalnum() or text[lo - 1] in "+/=_-"):
        lo -= 1
    while hi < len(text) and hi - lo <= 120 and (text[hi].isalnum() or text[hi] in "+/=_-"):
        hi += 1
    if hi - lo > 120 or text[lo:start].endswith(("toolu_", "msg_", "req_", "srvtoolu_", "call_", "chatcmpl-")):
        return False
    if start >= 7 and text[max(0, start - 7):start] in ("sha512-", "sha384-", "sha256-", "sha1-"):
        return False
    return shannon_entropy(value) >= floor


def resolve(hits: list[Hit], text: str) -> list[Hit]:
    """Removals win over keeps; overlapping removals merge into one span, named by the most specific
    rule among them (a provider rule over a generic one, over the entropy detector, over PII)."""
    if not hits:
        return hits
    removals = sorted((h for h in hits if h.verdict is Verdict.REMOVE), key=lambda h: (h.start, -h.end, h.rank))
    merged: list[Hit] = []
    for hit in removals:
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            namer = hit if hit.rank < last.rank else last
            end = max(last.end, hit.end)
            merged[-1] = Hit(namer.rule, last.start, end, last.verdict, namer.reason, text[last.start:end], namer.rank)
            continue
        merged.append(hit)
    spans = [(r.start, r.end) for r in merged]
    others = [h for h in hits if h.verdict is not Verdict.REMOVE and not _overlaps(spans, h.start, h.end)]
    unique = {(h.rule, h.start, h.end): h for h in others}
    return sorted(merged + list(unique.values()), key=lambda h: (h.start, h.end))


#: An anchored rule is tried only next to its needles (any text); in texts longer than this the entropy
#: detector looks only inside token runs short enough to be its match (a base64 image or a hex dump
#: is then not scanned by rules that cannot match inside it).
WINDOWED_FROM = 4096
#: How far past its keyword's literal run an unbounded match is looked for in a windowed text.
WINDOW_TAIL = 8192
_SLACK = 8   # characters of look-ahead past a window's last possible match end


def _matches(rule: Rule, text: str, lower: str | None, work: Work | None,
             needle_hits: set[int] | None = None):
    """The rule's matches in `text`, searched only where they can be (exact: see WINDOWED_FROM)."""
    n = len(text)
    if rule.anchor is not None and lower is not None and len(lower) == n:
        return _anchored_matches(rule, text, lower, work, needle_hits)
    if rule.required and lower is not None and not any(r in lower for r in rule.required):
        return iter(())
    if n <= WINDOWED_FROM:
        return bounded.finditer(rule.pattern, text, work)
    if rule.kind is RuleKind.ENTROPY and rule.width[1] is not None and rule.width[0] > 0:
        low, high = rule.width
        spans = [(start, end + 1) for start, end in _token_runs(text, low, high)]
        return bounded.finditer_spans(rule.pattern, text, spans, work)
    return bounded.finditer(rule.pattern, text, work)


def _anchored_matches(rule: Rule, text: str, lower: str, work: Work | None,
                      needle_hits: set[int] | None = None):
    """Matches of an anchored rule, tried only at the starts its anchor allows around each keyword hit.

    The same matches `finditer` returns: a match must hold a keyword at a known distance from its start
    (rules.py `anchor_of`), so no other start can match; starts are tried in order, skipping those
    inside the previous match, as `finditer` does. Each try is bounded by the rule's longest match
    (WINDOW_TAIL past the keyword's run when unbounded)."""
    anchor = rule.anchor
    assert anchor is not None
    reach = anchor.before + anchor.run + (WINDOW_TAIL if anchor.after is None else anchor.after) + _SLACK
    starts: list[int] = []
    for number, (needle, offset, offset_max) in enumerate(anchor.needles):
        lead, width = offset_max + anchor.before, offset_max - offset + anchor.before + 1
        if needle_hits is not None and number not in needle_hits:
            continue   # the one-pass index (needles.py) saw no occurrence
        positions = []
        position = lower.find(needle)
        while position != -1:
            positions.append(position)
            position = lower.find(needle, position + 1)
        for position in positions:
            if width == 1:
                starts.append(position - lead)
            else:
                starts.extend(range(position - lead, position - lead + width))
    if not starts:
        return
    n = len(text)
    done = 0
    match = rule.pattern.match
    starts.sort()
    for start in starts:
        if start < done:
            continue
        stop = min(n, start + reach)
        if work is not None:
            work.chars += stop - start
            work.searches += 1
        m = match(text, start, stop)
        if m is not None:
            yield m
            done = m.end() if m.end() > start else start + 1


#: A run of token characters, the most an entropy-rule match can be (its own look-arounds end it).
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=-"
_TOKEN_RUN = re.compile(f"[{re.escape(_TOKEN_CHARS)}]+")
#: ASCII bytes to `a` (a token character) or a space (any other), for `_token_runs`.
_TOKEN_MAP = bytes(ord("a") if chr(b) in _TOKEN_CHARS else ord(" ") for b in range(256))


def _token_runs(text: str, low: int, high: int) -> list[tuple[int, int]]:
    """(start, end) of every run of token characters of `low` to `high` characters.

    Why not `_TOKEN_RUN.finditer` alone: a 600 KB base64 image is one run, and the character-class loop
    costs more than everything else done to it. On ASCII text (a byte per character) the bytes are mapped
    to `a` or a space first, and runs of at least `low` are found as repeats of one literal byte, which
    `re` counts several times faster; the answer is the same."""
    if not text.isascii():
        return [(m.start(), m.end()) for m in _TOKEN_RUN.finditer(text) if low <= m.end() - m.start() <= high]
    mapped = text.encode("ascii").translate(_TOKEN_MAP)
    return [(m.start(), m.end()) for m in re.finditer(rb"(?<!a)a{%d,}" % low, mapped) if m.end() - m.start() <= high]


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether [start, end) overlaps one of `spans` (sorted, disjoint): a bisect, not a scan of all."""
    i = bisect.bisect_right(spans, (start, float("inf"))) - 1
    if i >= 0 and spans[i][1] > start:
        return True
    return i + 1 < len(spans) and spans[i + 1][0] < end


def _with_value(hit: Hit, text: str) -> Hit:
    """The hit with its value read from the original text (what the marker is a hash of)."""
    return Hit(hit.rule, hit.start, hit.end, hit.verdict, hit.reason, text[hit.start:hit.end], hit.rank)


def _sensitive_pattern(items: Sequence[str]) -> re.Pattern[str] | None:
    names = [re.escape(i.strip()) for i in items if i.strip()]
    if not names:
        return None
    return re.compile(r"(?i)(?<![A-Za-z0-9])(?:" + "|".join(sorted(names, key=len, reverse=True)) + r")(?![A-Za-z0-9])")
