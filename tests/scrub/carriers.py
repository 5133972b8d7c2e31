"""A corpus of secrets and look-alikes in the four carriers a Claude Code transcript holds them in.

Why: issue 20 measured the scrub on third-party examples embedded four ways and found recall fell
when the text was a tool result or a JSON document. This generator makes the same shape of test from
our own values (templates from tests/scrub/corpus/labelled.json, filled with a seeded random; never a
public scanner's example string), so a regression shows per carrier:

- `user`: the person's own message (`"content": "<text>"`);
- `read`: a Read tool result, every line prefixed with its right-aligned number and a tab;
- `write`: a Write tool call whose `content` is the file;
- `json-doc`: a tool result whose content is itself a JSON document holding the text (an MCP or API
  response), so the text is escaped twice in the line.

Each case is a family (the rule expected to remove it, or a benign label), a class (`provider`,
`generic`, `benign`), the value that must disappear (secrets) and the text. Shared by
tests/scrub/test_carriers.py and bench/scrub_recall_bench.py.
"""
from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from enum import StrEnum

from tests.scrub.labelled import load


class Carrier(StrEnum):
    USER = "user"
    READ = "read"
    WRITE = "write"
    JSON_DOC = "json-doc"


class CaseClass(StrEnum):
    PROVIDER = "provider"
    GENERIC = "generic"
    BENIGN = "benign"


@dataclass(frozen=True)
class Case:
    family: str
    cls: CaseClass
    value: str       # what must not survive ("" for benign cases)
    text: str


#: Assignment shapes a secret is written in, across languages and file kinds. `{id}` is the provider
#: name in camel case, `{ID}` in upper snake case; `{v}` the value.
FORMS = (
    "{ID}_API_KEY={v}",
    'export {ID}_TOKEN="{v}"',
    "{id}_token: {v}",
    '"{id}Token": "{v}"',
    '{id}Token := "{v}"',
    "{id}Token := `{v}`",
    'var {id}Token string = "{v}"',
    '{ID}_TOKEN ?= "{v}"',
    'System.setProperty("{ID}_TOKEN", "{v}");',
    "<{id}Token>{v}</{id}Token>",
    '$env:{ID}_TOKEN = "{v}"',
    'String {id}Token = "{v}";',
    "{id}_api_token = '{v}'",
    "{id}Token = @\"{v}\"",
)

#: Generic password and secret shapes (no provider prefix): the value is judged on context and shape.
GENERIC_FORMS = (
    'password = "{v}"',
    'db_password: "{v}"',
    "PASSWORD={v}",
    "mysql_root_password: {v}",
    "./deploy --password {v} --host db1",
    "DATABASE_URL=postgres://app:{v}@db1.internal:5432/app",
    "https://deploy:{v}@git.corp.internal/app.git",
    "Server=db1;Database=app;User Id=app;Password={v};",
    "Driver={{ODBC Driver 18}};Server=db1;Uid=app;Pwd={v};",
    'client_secret = "{v}"',
    "SECRET_KEY={v}",
    "<password>{v}</password>",
    "<Password>\n    {v}\n</Password>",
    '<add key="ClearTextPassword" value="{v}" />',
    'DB_PASSWORD ?= "{v}"',
    "dbPassword := `{v}`",
    'System.setProperty("DB_PASSWORD", "{v}");',
    "psexec \\\\host01 -u admin -p {v} cmd",
    "mysql -uroot -p{v} app",
    'Authorization: Bearer {v}',
    "auth_token: '{v}'",
    "password: {v}",
    '"password": "{v}"',
    "PGPASSWORD={v} psql -h db1 -U app",
    "java -Dspring.datasource.password={v} -jar app.jar",
    "spring.datasource.password={v}",
    "redis://:{v}@cache1:6379/0",
    "amqp://app:{v}@mq1:5672/vhost",
    "mongodb+srv://app:{v}@cluster0.mongodb.net/app",
    "jdbc:mysql://db1:3306/app?user=app&password={v}",
    "MAIL_PASSWORD={v}",
    "docker login -u deploy -p {v} registry.corp.internal",
    "$password = \"{v}\";",
    "define('DB_PASSWORD', '{v}');",
    "ENV['SMTP_PASSWORD'] ||= '{v}'",
    'private static final String PASSWORD = "{v}";',
    "$secure = ConvertTo-SecureString \"{v}\" -AsPlainText -Force",
    "net use \\\\fs01\\share /user:CORP\\svc {v}",
    "db1:5432:app:app:{v}",
    "- name: DB_PASSWORD\n  value: \"{v}\"",
    "export AWS_SECRET_ACCESS_KEY={v}",
    "secret_access_key = {v}",
    "passphrase: '{v}'",
    "admin_pass = '{v}'",
    "curl -H 'X-Api-Key: {v}' https://dtrack.corp.internal/api/v1/project",
    "DEPLOY_TOKEN ?= {v}",
    "REGISTRY_PASSWORD ?= {v}",
)

#: Benign text that must stay byte-identical (prose, code, placeholders, public material, ids).
BENIGN = (
    ("prose-basic", "Basic configuration lives in config.toml; Basic authentication is disabled."),
    ("prose-basic", "See the Basic Authentication Scheme section for details."),
    ("code-expression", "token = Base.url_encode64(:crypto.strong_rand_bytes(32))"),
    ("code-expression", 'this.addPassword = "#add-password";'),
    ("code-expression", "secret_length = X25519.secret_length"),
    ("code-expression", "const secretKey = process.env.SECRET_KEY;"),
    ("code-expression", "api_key = get_api_key_from_vault(settings.vault_path)"),
    ("code-expression", "password: ${{ secrets.DB_PASSWORD }}"),
    ("code-expression", 'SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]'),
    ("code-expression", "SECRET_KEY = get_random_secret_key()"),
    ("placeholder", 'STRIPE_KEY = "sk_abcdefghijklmnopqrstuvwxyz123"'),
    ("placeholder", "curl -u <user:password> https://api.example.com/v1/items"),
    ("placeholder", 'api_key = "your-api-key-here"'),
    ("placeholder", "TOKEN=xxxx"),
    ("placeholder", "Authorization: Bearer <TOKEN>"),
    ("placeholder", "password: ${SECRET}"),
    ("placeholder", 'DB_PASSWORD ?= "changeme"'),
    ("placeholder", "AIRTABLE_TOKEN=patXXXXXXXXXXXXXX.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"),
    ("alphabet", 'ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"'),
    ("alphabet", "BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'"),
    ("service-email", "Co-Authored-By: Claude <noreply@anthropic.com>"),
    ("service-email", "Author: octo <1234567+octo@users.noreply.github.com>"),
    ("service-email", "From: GitHub <notifications@github.com>; Reply-To: no-reply@accounts.google.com"),
    ("example-email", 'assert send("alice@example.org", "bob@mail.example.net")'),
    ("example-email", 'user = User(email="test@service.test", backup="x@host.invalid")'),
    ("erlang", "-spec f(x@1::[any()]) -> ok."),
    ("erlang", "-type t() :: #{id := X@1::integer()}."),
    ("empty-value", "API_TOKEN=\nDEBUG=true\nLOG_LEVEL=info"),
    ("empty-value", "password:\n  file: /run/secrets/db"),
    ("git-sha", "commit 3b18e512dba79e4c8300dd08aeb37f8e728b8dad"),
    ("uuid", "request-id: 9b2f4c1e-7a3d-4e8b-b1c2-5d6e7f8a9b0c"),
    ("integrity", '"integrity": "sha512-Q2h4bGVuZ2VUb2tlblRoYXRJc05vdEFTZWNyZXQxMjM0NTY3ODkwQUJDREVGR0hJSktMTU5PUFFSU1RVVldY"'),
    ("env-name", "Set SOURCEGRAPH_TOKEN, TAVILY_API_KEY and JINA_API_KEY in your shell first."),
    ("prose", "The Jina reader and Tavily search both need an API key; ask code.platform for one."),
    ("prose", "Twitch stream keys start with live_ and SonarQube tokens with squ_."),
    ("cli", "kubeadm token create --print-join-command"),
    ("cli", "mysql -u root -p app"),
    ("cli", "mysql -h db -P 3306 -u app -p"),
    ("xml", "<token-endpoint>https://login.example.com/oauth2/token</token-endpoint>"),
    ("xml", "<passwordPolicy>\n  <minLength>12</minLength>\n</passwordPolicy>"),
    ("ipv6-like", "std::map<int, int> m; m.insert({1, 2}); ns::f();"),
    ("conn-string", "Server=db1;Database=app;Integrated Security=true;"),
    ("conn-string", "Server=db1;Database=app;User Id=app;Password=;"),
    ("cli", "echo $CR_PAT | docker login ghcr.io -u octo --password-stdin"),
    ("cli", "net use Z: \\\\fs01\\share /user:CORP\\svc *"),
    ("code-expression", "$secure = Read-Host -AsSecureString"),
    ("code-expression", "define('DB_PASSWORD', getenv('DB_PASSWORD'));"),
    ("code-expression", "ENV['SMTP_PASSWORD'] ||= ENV['MAIL_PASSWORD']"),
    ("code-expression", 'compass = "North-East-Bearing-42"'),
    ("k8s", "- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password"),
    ("setting-name", "<secretName>my-tls-secret</secretName>"),
    ("setting-name", 'token_type = "urn:ietf:params:oauth:token-type:jwt"'),
    ("setting-name", "PASSWORD_FILE=/run/secrets/postgres-password"),
    ("setting-name", 'System.setProperty("javax.net.ssl.trustStorePassword", System.getenv("TRUST_PW"));'),
    ("code-expression", "conn = s.getConnectionPoolManager(); x = pattern.matcherForSomethingLong"),
    ("code-expression", "patternMatcherImpl.someVeryLongMethodNameThatIsLongerThanFortyCharacters()"),
    ("placeholder", "kubeadm join 10.0.0.5:6443 --token abcdef.0123456789abcdef"),
    ("placeholder", "SECRET_KEY = 'django-insecure-change-me-before-deploying-this'"),
    ("placeholder", "[Interface]\nPrivateKey = <contents of privatekey>\nAddress = 10.8.0.2/24"),
    ("prose", "Use GitLab runner authentication tokens (glrt-) instead of registration tokens."),
    ("placeholder", 'curl -H "X-Api-Key: $DT_API_KEY" -H "api-key: <your key>" https://dtrack.corp.internal/api'),
    ("test-output", "tests/test_password_reset.py::test_expired_link PASSED\n"
                    "tests/auth/test_tokens.py::TestRefresh::test_rotates_refresh_token FAILED"),
    ("code-path", "let t = auth_token::TokenStore::new(); let p = password::hash::argon2id(&pw);"),
    ("tool-output", "reset_password.py:14: error: Name \"hashed_pw\" is not defined  [name-defined]"),
    ("makefile", "DB_PASSWORD ?= $(shell cat pw.txt)\nCFLAGS += -DPASSWORD_LEN=12\nEXTRA_TOKENS += foo_bar_baz_qux"),
)


def _pgp_public_block(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    body = "\n".join("".join(rng.choice(alphabet) for _ in range(64)) for _ in range(12))
    return (f"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n{body}\n="
            f"{''.join(rng.choice(alphabet) for _ in range(4))}\n-----END PGP PUBLIC KEY BLOCK-----")


def _image(rng: random.Random, magic: str, size: int, wrap: int = 0) -> str:
    alphabet = string.ascii_letters + string.digits + "+/"
    data = magic + "".join(rng.choice(alphabet) for _ in range(size))
    if wrap:
        data = "\n".join(data[i:i + wrap] for i in range(0, len(data), wrap))
    return data


def _names(rule: str) -> tuple[str, str]:
    """`twitch-api-token` -> (`twitch`, `TWITCH`): the provider's name as scanners' examples use it."""
    head = rule.split("-")[0]
    return head, head.upper()


def _password(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "!#%^*-_+"
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(rng.randint(12, 22)))
        if any(c.isdigit() for c in value) and any(c.isupper() for c in value) and any(c.islower() for c in value):
            return value


def _generic_secret(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))


def cases(seed: int = 20) -> list[Case]:
    """Every provider family in every form, generic secrets in every generic form, the benign set."""
    rng = random.Random(seed)
    secrets, _ = load(seed)
    out: list[Case] = []
    provider = [s for s in secrets if not s.rule.startswith(("generic-", "high-entropy", "email", "ipv"))
                and s.rule not in ("database-url-password", "url-credentials", "curl-user-password", "netrc-password",
                                   "cli-secret-flag", "cli-short-password-flag", "mysql-password-flag",
                                   "authorization-bearer", "authorization-basic", "django-secret-key-env",
                                   "powershell-securestring", "net-use-password")]
    for secret in provider:
        out.append(Case(secret.rule, CaseClass.PROVIDER, secret.value, secret.text))
        if secret.rule.endswith("-url"):
            continue   # a webhook's secret is its URL path: it has no assignment shape of its own
        name, upper = _names(secret.rule)
        for form in rng.sample(FORMS, 3):
            out.append(Case(secret.rule, CaseClass.PROVIDER, secret.value,
                            form.format(id=name, ID=upper, v=secret.value)))
    for form in GENERIC_FORMS:
        value = _password(rng) if any(w in form.lower() for w in ("pass", "pwd", "-p ", "securestring", "/user:",
                                                                    ":5432:")) else _generic_secret(rng)
        if "://" in form or "Bearer" in form:
            value = _generic_secret(rng)[:20]
        out.append(Case("generic", CaseClass.GENERIC, value, form.format(v=value)))
    for label, text in BENIGN:
        out.append(Case(label, CaseClass.BENIGN, "", text))
    out.append(Case("pgp-public-key", CaseClass.BENIGN, "", _pgp_public_block(rng)))
    out.append(Case("base64-image", CaseClass.BENIGN, "", _image(rng, "iVBORw0KGgoAAAANSUhEUgAA", 3000)))
    out.append(Case("base64-image", CaseClass.BENIGN, "", _image(rng, "/9j/4AAQSkZJRgABAQ", 3000, wrap=76)))
    out.append(Case("base64-image", CaseClass.BENIGN, "",
                    "![shot](data:image/png;base64," + _image(rng, "iVBORw0KGgoAAAANSUhEUgAA", 600) + ")"))
    return out


def _uuid(rng: random.Random) -> str:
    h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def carry(text: str, carrier: Carrier, rng: random.Random) -> str:
    """One JSONL line of a Claude Code session carrying `text` in `carrier`."""
    base = {"parentUuid": _uuid(rng), "isSidechain": False, "userType": "external", "cwd": "/home/dev/app",
            "sessionId": "s-carriers", "version": "1.0.43", "uuid": _uuid(rng),
            "timestamp": "2026-12-06T01:%02d:%02d.000Z" % (rng.randint(0, 59), rng.randint(0, 59))}
    tool_id = "toolu_01" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(22))
    if carrier is Carrier.USER:
        base |= {"type": "user", "message": {"role": "user", "content": text}}
    elif carrier is Carrier.READ:
        numbered = "\n".join(f"{i:>6}\t{line}" for i, line in enumerate(text.split("\n"), start=1))
        base |= {"type": "user", "message": {"role": "user", "content": [
            {"tool_use_id": tool_id, "type": "tool_result", "content": numbered}]}}
    elif carrier is Carrier.WRITE:
        base |= {"type": "assistant", "message": {"role": "assistant", "content": [
            {"type": "tool_use", "id": tool_id, "name": "Write",
             "input": {"file_path": "/home/dev/app/config/settings.env", "content": text}}]}}
    else:
        document = json.dumps({"path": "config/settings.env", "encoding": "utf-8", "size": len(text),
                               "content": text}, ensure_ascii=False)
        base |= {"type": "user", "message": {"role": "user", "content": [
            {"tool_use_id": tool_id, "type": "tool_result", "content": [{"type": "text", "text": document}]}]}}
    return json.dumps(base, ensure_ascii=False, separators=(",", ":"))


def survives(value: str, output: str) -> bool:
    """The value, or any JSON-escaped spelling of it, is still in the output line."""
    spellings = {value, json.dumps(value, ensure_ascii=False)[1:-1]}
    spellings.add(json.dumps(json.dumps(value, ensure_ascii=False)[1:-1], ensure_ascii=False)[1:-1])
    return any(s in output for s in spellings)


def measure(engine, carriers=tuple(Carrier), seed: int = 20) -> tuple[dict[tuple[str, str], tuple[int, int]], list[str]]:
    """{(carrier, class): (passed, total)} over `cases(seed)`, and one line per miss or altered look-alike.

    A secret passes when no spelling of its value survives in the scrubbed line; a look-alike passes
    when the line comes back byte-identical."""
    from jobs.export.scrub import FileKind

    table: dict[tuple[str, str], list[int]] = {}
    misses: list[str] = []
    rng = random.Random(seed)
    for case in cases(seed):
        for carrier in carriers:
            line = carry(case.text, carrier, rng)
            out = engine.process(line.encode(), FileKind.JSONL, "corpus.jsonl", scrub=True).output.decode()
            ok = out == line if case.cls is CaseClass.BENIGN else not survives(case.value, out)
            cell = table.setdefault((carrier.value, case.cls.value), [0, 0])
            cell[0] += ok
            cell[1] += 1
            if not ok:
                misses.append(f"{carrier.value:<9}{case.cls.value:<9}{case.family:<34}{case.text[:90]!r}")
    return {k: (v[0], v[1]) for k, v in table.items()}, misses


#: Issue 20's targets: share of each class that must pass in every carrier.
TARGETS = {CaseClass.PROVIDER: 0.97, CaseClass.GENERIC: 0.80, CaseClass.BENIGN: 0.97}
