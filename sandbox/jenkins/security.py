"""Security: local user database, API tokens, sessions, crumbs, authorization strategies.

Sources (reference §1): ``BasicHeaderProcessor``, ``BasicHeaderApiTokenAuthenticator`` (token
first, then real password), ``DefaultCrumbIssuer#issueCrumb`` (SHA-256 over
``user;sessionId`` + salt), ``ApiCrumbExclusion`` (API-token requests need no crumb),
``HudsonAuthenticationEntryPoint`` (anonymous -> 403), Spring ``BasicAuthenticationEntryPoint``
(bad credentials -> 401 ``WWW-Authenticate: Basic realm="Jenkins"``).

On disk (as real Jenkins lays it out): ``users/users.xml`` (id -> directory map) and
``users/<id>_<n>/config.xml`` with the password hash and the API tokens' SHA-256 hashes
(``ApiTokenStore``, "version 2" tokens: 11 + 32 hex chars).  Real Jenkins stores
``#jbcrypt:`` hashes; without bcrypt here we store ``#sandbox-sha256:<salt>:<hex>``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import re
import secrets
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

# Permission names as shown in messages (hudson.security.Permission#toString -> group/name)
READ = "Overall/Read"
SYSTEM_READ = "Overall/SystemRead"
MANAGE = "Overall/Manage"
ADMINISTER = "Overall/Administer"
ITEM_READ = "Job/Read"
ITEM_CREATE = "Job/Create"
ITEM_CONFIGURE = "Job/Configure"
ITEM_DELETE = "Job/Delete"
ITEM_BUILD = "Job/Build"
ITEM_CANCEL = "Job/Cancel"
ITEM_EXTENDED_READ = "Job/ExtendedRead"
PERMISSION_ALIASES = {"READ": READ, "SYSTEM_READ": SYSTEM_READ, "MANAGE": MANAGE, "ADMINISTER": ADMINISTER}
ANONYMOUS = "anonymous"


def _hash_password(password: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    return f"#sandbox-sha256:{salt}:{hashlib.sha256((salt + password).encode()).hexdigest()}"


def _check_password(stored: str, password: str) -> bool:
    if stored.startswith("#sandbox-sha256:"):
        _, salt, digest = stored.split(":", 2)
        return hmac.compare_digest(_hash_password(password, salt), stored)
    return False


@dataclass
class ApiToken:
    uuid: str
    name: str
    hash: str          # sha256 hex of the token value
    created: float


@dataclass
class User:
    id: str
    full_name: str
    password_hash: str | None = None
    tokens: list = field(default_factory=list)
    dirname: str | None = None


class UserDatabase:
    """``HudsonPrivateSecurityRealm`` users + ``ApiTokenProperty`` tokens, persisted in JENKINS_HOME."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.dir = self.home / "users"
        self.users: dict[str, User] = {}
        self.lock = threading.RLock()

    # -- persistence ---------------------------------------------------------------------
    def load(self):
        self.users = {}
        index = self.dir / "users.xml"
        if not index.exists():
            return
        root = ET.parse(index).getroot()
        for entry in root.iter("entry"):
            strings = [s.text for s in entry.findall("string")]
            if len(strings) != 2:
                continue
            uid, dirname = strings
            cfg = self.dir / dirname / "config.xml"
            if not cfg.exists():
                continue
            u = ET.parse(cfg).getroot()
            user = User(u.findtext("id") or uid, u.findtext("fullName") or uid, dirname=dirname)
            ph = u.find(".//hudson.security.HudsonPrivateSecurityRealm_-Details/passwordHash")
            if ph is not None:
                user.password_hash = ph.text
            for t in u.iter("apiToken"):
                user.tokens.append(ApiToken(t.findtext("uuid"), t.findtext("name"), t.findtext("value"),
                                            float(t.findtext("creationDate") or 0)))
            self.users[user.id.lower()] = user

    def save(self):
        with self.lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            idx = ET.Element("hudson.model.UserIdMapper")
            ET.SubElement(idx, "version").text = "1"
            m = ET.SubElement(idx, "idToDirectoryNameMap", {"class": "concurrent-hash-map"})
            for user in self.users.values():
                if not user.dirname:
                    safe = re.sub(r"[^A-Za-z0-9_]", "_", user.id)[:24]
                    user.dirname = f"{safe}_{abs(hash(user.id + str(time.time()))) % 10**19}"
                e = ET.SubElement(m, "entry")
                ET.SubElement(e, "string").text = user.id
                ET.SubElement(e, "string").text = user.dirname
                self._save_user(user)
            _write_xml(self.dir / "users.xml", idx)

    def _save_user(self, user: User):
        u = ET.Element("user")
        ET.SubElement(u, "version").text = "10"
        ET.SubElement(u, "id").text = user.id
        ET.SubElement(u, "fullName").text = user.full_name
        props = ET.SubElement(u, "properties")
        tp = ET.SubElement(props, "jenkins.security.ApiTokenProperty")
        store = ET.SubElement(ET.SubElement(tp, "tokenStore"), "tokenList")
        for t in user.tokens:
            x = ET.SubElement(store, "jenkins.security.apitoken.ApiTokenStore_-HashedToken")
            ET.SubElement(x, "uuid").text = t.uuid
            ET.SubElement(x, "name").text = t.name
            ET.SubElement(x, "creationDate").text = str(t.created)
            v = ET.SubElement(x, "value")
            ET.SubElement(v, "version").text = "2"
            ET.SubElement(v, "hash").text = t.hash
            # flat copy for our loader
            ET.SubElement(x, "apiToken")
            x[-1].extend([_el("uuid", t.uuid), _el("name", t.name), _el("value", t.hash),
                          _el("creationDate", str(t.created))])
        if user.password_hash:
            d = ET.SubElement(props, "hudson.security.HudsonPrivateSecurityRealm_-Details")
            ET.SubElement(d, "passwordHash").text = user.password_hash
        d = self.dir / user.dirname
        d.mkdir(parents=True, exist_ok=True)
        _write_xml(d / "config.xml", u)

    # -- operations ----------------------------------------------------------------------
    def get(self, uid: str) -> User | None:
        with self.lock:
            return self.users.get(uid.lower())

    def upsert(self, uid: str, password: str | None, full_name: str | None = None) -> User:
        with self.lock:
            user = self.users.get(uid.lower())
            if user is None:
                user = User(uid, full_name or uid)
                self.users[uid.lower()] = user
            if full_name:
                user.full_name = full_name
            if password is not None and not (user.password_hash and _check_password(user.password_hash, password)):
                user.password_hash = _hash_password(password)
            return user

    def check_password(self, uid: str, password: str) -> User | None:
        user = self.get(uid)
        if user and user.password_hash and _check_password(user.password_hash, password):
            return user
        return None

    def check_token(self, uid: str, token: str) -> User | None:
        user = self.get(uid)
        if not user:
            return None
        digest = hashlib.sha256(token.encode()).hexdigest()
        for t in user.tokens:
            if hmac.compare_digest(t.hash, digest):
                return user
        return None

    def generate_token(self, uid: str, name: str) -> tuple[ApiToken, str]:
        """``ApiTokenStore#generateNewToken``: value = "11" + 32 hex chars (version 2 token)."""
        value = "11" + secrets.token_hex(16)
        tok = ApiToken(str(uuid.uuid4()), name or f"Token created on {time.strftime('%Y-%m-%dT%H:%M:%S')}",
                       hashlib.sha256(value.encode()).hexdigest(), time.time())
        with self.lock:
            self.get(uid).tokens.append(tok)
        self.save()
        return tok, value

    def add_known_token(self, uid: str, name: str, value: str):
        with self.lock:
            user = self.get(uid)
            digest = hashlib.sha256(value.encode()).hexdigest()
            if user and not any(t.hash == digest for t in user.tokens):
                user.tokens.append(ApiToken(str(uuid.uuid4()), name, digest, time.time()))


def _el(tag, text):
    e = ET.Element(tag)
    e.text = text
    return e


def _write_xml(path: Path, root: ET.Element):
    ET.indent(root, "  ")
    body = ET.tostring(root, encoding="unicode")
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_text("<?xml version='1.1' encoding='UTF-8'?>\n" + body + "\n")
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# authorization


class AuthorizationStrategy:
    symbol = "unsecured"
    java_class = "hudson.security.AuthorizationStrategy$Unsecured"

    def has(self, user: str | None, permission: str) -> bool:
        return True

    def export(self):
        return self.symbol


class FullControlOnceLoggedIn(AuthorizationStrategy):
    symbol = "loggedInUsersCanDoAnything"
    java_class = "hudson.security.FullControlOnceLoggedInAuthorizationStrategy"

    def __init__(self, allow_anonymous_read: bool = True):
        # the Java field default is true (FullControlOnceLoggedInAuthorizationStrategy#denyAnonymousReadAccess=false)
        self.allow_anonymous_read = allow_anonymous_read

    def has(self, user, permission):
        if user is not None:
            return True
        return self.allow_anonymous_read and permission in (READ, ITEM_READ)

    def export(self):
        return {self.symbol: {"allowAnonymousRead": self.allow_anonymous_read}}


class Legacy(AuthorizationStrategy):
    """``LegacyAuthorizationStrategy``: everyone reads, the ``admin`` sid administers."""
    symbol = "legacy"
    java_class = "hudson.security.LegacyAuthorizationStrategy"

    def has(self, user, permission):
        if permission in (READ, ITEM_READ):
            return True
        return user is not None and user.lower() == "admin"


# --------------------------------------------------------------------------------------------
# sessions and crumbs


class Sessions:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions: dict[str, dict] = {}
        # Jetty cookie name: JSESSIONID.<node hash>
        self.cookie_name = "JSESSIONID." + secrets.token_hex(4)

    def get(self, sid: str | None):
        if not sid:
            return None
        with self.lock:
            return self.sessions.get(sid)

    def create(self) -> str:
        sid = "node0" + secrets.token_hex(10) + ".node0"
        with self.lock:
            self.sessions[sid] = {"user": None, "created": time.time()}
        return sid


class CrumbIssuer:
    """``DefaultCrumbIssuer``."""

    def __init__(self, exclude_session_id: bool = False, field: str = "Jenkins-Crumb"):
        self.salt = secrets.token_hex(16)
        self.exclude_session_id = exclude_session_id
        self.field = field

    def issue(self, user: str, session_id: str | None) -> str:
        msg = user if self.exclude_session_id else f"{user};{session_id or ''}"
        return hashlib.sha256((msg + self.salt).encode()).hexdigest()

    def validate(self, user: str, session_id: str | None, crumb: str | None) -> bool:
        if not crumb:
            return False
        return hmac.compare_digest(self.issue(user, session_id), crumb)


def escape(text) -> str:
    return html.escape(str(text), quote=True)
