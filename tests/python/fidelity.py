"""Fidelity check: the official Dropbox Python SDK (PyPI `dropbox`) against the fake Dropbox.

Usage: fidelity.py http://127.0.0.1:PORT APP_KEY APP_SECRET

The fake must run with these client credentials and auto-approve. The SDK always speaks
https to www.dropbox.com, api.dropboxapi.com and content.dropboxapi.com; a requests adapter
mounted for https:// rewrites every URL to the fake (the way the reference describes), and
records which host each route was sent to, so the route styles are checked too. Every route
the access.dropbox driver uses runs here, with the SDK's own validators deciding whether the
fake's JSON is what Dropbox sends. Exits non-zero with a traceback on the first mismatch.
"""

import datetime
import re
import sys
import time
import urllib.parse

import requests
import dropbox
from dropbox import dropbox_client, exceptions, files, oauth
from dropbox.content_hash import content_hash as sdk_hash

# Decode every answer strictly: a field or union tag the spec does not define is an error
# (the SDK itself ignores them, so that it survives Dropbox adding fields).
_lenient_decode = dropbox_client.stone_serializers.json_compat_obj_decode


def _strict_decode(data_type, obj, **kwargs):
    kwargs["strict"] = True
    return _lenient_decode(data_type, obj, **kwargs)


dropbox_client.stone_serializers.json_compat_obj_decode = _strict_decode

FAKE, APP_KEY, APP_SECRET = sys.argv[1], sys.argv[2], sys.argv[3]
FAKE_NETLOC = urllib.parse.urlsplit(FAKE).netloc
SENT = []  # (host, path) of every request
CHECKS = []


def check(name, condition, detail=""):
    if not condition:
        raise AssertionError(f"{name}: {detail}")
    CHECKS.append(name)


class ToFake(requests.adapters.HTTPAdapter):
    """Sends every https:// request of the SDK to the fake, over http."""

    def send(self, request, **kwargs):
        url = urllib.parse.urlsplit(request.url)
        SENT.append((url.hostname, url.path))
        request.url = urllib.parse.urlunsplit(("http", FAKE_NETLOC, url.path, url.query, ""))
        kwargs["proxies"] = {}
        return super().send(request, **kwargs)


def session():
    s = requests.Session()
    s.trust_env = False
    s.mount("https://", ToFake())
    return s


def browser_get(url, **kwargs):
    """What a browser does with the authorize URL (no redirect followed)."""
    return session().get(url, allow_redirects=False, **kwargs)


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def control(fault):
    r = requests.post(f"{FAKE}/__fake/faults", json=fault)
    r.raise_for_status()


def counters():
    return requests.get(f"{FAKE}/__fake/counters").json()


def expect(name, error_class, call):
    try:
        call()
    except error_class as e:
        CHECKS.append(name)
        return e
    raise AssertionError(f"{name}: expected {error_class.__name__}")


# --- OAuth: the redirect flow with PKCE and a url_state --------------------------------------
web_session = {}
flow = oauth.DropboxOAuth2Flow(
    APP_KEY,
    "http://localhost:8080/dropbox-callback",
    web_session,
    "dropbox-auth-csrf-token",
    token_access_type="offline",
    use_pkce=True,
)
flow.requests_session = session()
authorize_url = flow.start(url_state="back-to-workspace")
r = browser_get(authorize_url)
check("authorize redirects", r.status_code == 302, r.status_code)
location = r.headers["location"]
check("redirect goes to redirect_uri", location.startswith("http://localhost:8080/dropbox-callback?"))
result = flow.finish(query_of(location))
check("flow result account_id", result.account_id.startswith("dbid:") and len(result.account_id) == 40)
check("flow result refresh token", bool(result.refresh_token))
check("flow result url_state", result.url_state == "back-to-workspace")
check("flow result access token", result.access_token.startswith("sl."))
check("flow result expiry", result.expires_at is not None)

# --- OAuth: no-redirect flow, the code shown on the page -------------------------------------
nr = oauth.DropboxOAuth2FlowNoRedirect(APP_KEY, token_access_type="offline", use_pkce=True)
nr.requests_session = session()
page = browser_get(nr.start()).text
code = re.search(r'<code id="code">([^<]+)</code>', page).group(1)
nr_result = nr.finish(code)
check("no-redirect flow", nr_result.refresh_token and nr_result.user_id)
e = expect("code reuse refused", requests.HTTPError, lambda: nr.finish(code))
check("code reuse is invalid_grant", e.response.json()["error"] == "invalid_grant")

# Confidential client (secret, no PKCE), credentials in the body.
conf = oauth.DropboxOAuth2FlowNoRedirect(APP_KEY, APP_SECRET, token_access_type="offline")
conf.requests_session = session()
code = re.search(r'<code id="code">([^<]+)</code>', browser_get(conf.start()).text).group(1)
check("confidential flow", conf.finish(code).refresh_token)

# Wrong PKCE verifier.
bad = oauth.DropboxOAuth2FlowNoRedirect(APP_KEY, token_access_type="offline", use_pkce=True)
bad.requests_session = session()
code = re.search(r'<code id="code">([^<]+)</code>', browser_get(bad.start()).text).group(1)
bad.code_verifier = bad.code_verifier[:-1] + ("A" if bad.code_verifier[-1] != "A" else "B")
e = expect("wrong verifier refused", requests.HTTPError, lambda: bad.finish(code))
check("wrong verifier is invalid_grant", e.response.json()["error"] == "invalid_grant")

# Deny.
deny_session = {}
deny = oauth.DropboxOAuth2Flow(APP_KEY, "http://localhost:8080/cb", deny_session, "k", use_pkce=True)
deny.requests_session = session()
params = query_of(deny.start())
params["decision"] = "deny"
r = session().post("https://www.dropbox.com/oauth2/authorize", data=params, allow_redirects=False)
expect("deny is NotApprovedException", oauth.NotApprovedException, lambda: deny.finish(query_of(r.headers["location"])))

# --- A client from the refresh token (the driver's situation) --------------------------------
dbx = dropbox.Dropbox(oauth2_refresh_token=result.refresh_token, app_key=APP_KEY, session=session())
before = counters()["refreshes"]
dbx.check_and_refresh_access_token()
check("refresh gives an access token", dbx._oauth2_access_token.startswith("sl."))
check("refresh counted", counters()["refreshes"] == before + 1)

account = dbx.users_get_current_account()
check("FullAccount", account.account_id == result.account_id and account.name.display_name and account.email)
check("root_info", account.root_info.root_namespace_id == account.root_info.home_namespace_id)

# --- files --------------------------------------------------------------------------------
made = dbx.files_create_folder_v2("/Fidelity")
check("create_folder_v2", isinstance(made.metadata, files.FolderMetadata) and made.metadata.path_display == "/Fidelity")
hello = dbx.files_upload(b"hello world", "/Fidelity/Hello.txt", mode=files.WriteMode.add)
check("upload FileMetadata", isinstance(hello, files.FileMetadata) and hello.size == 11)
check(
    "upload content_hash",
    hello.content_hash == "bc62d4b80d9e36da29c16c5d4d9f11731f36052c72401a76c23c0fb5a9b74423",
)
again = dbx.files_upload(b"hello world", "/fidelity/hello.txt", mode=files.WriteMode.add)
check("add with the same content is no conflict", again.rev == hello.rev)
meta = dbx.files_get_metadata("/FIDELITY/hello.TXT")
check("get_metadata case-insensitive", isinstance(meta, files.FileMetadata) and meta.path_display == "/Fidelity/Hello.txt")
check("ids and revs", meta.id.startswith("id:") and meta.rev == hello.rev and meta.id == hello.id)
check("timestamps parsed", meta.server_modified.year >= 2024 and meta.client_modified is not None)
check("get_metadata by id", dbx.files_get_metadata(meta.id).path_lower == "/fidelity/hello.txt")
over = dbx.files_upload(
    b"HELLO",
    "/Fidelity/Hello.txt",
    mode=files.WriteMode.update(hello.rev),
    client_modified=datetime.datetime(2020, 1, 2, 3, 4, 5),
)
check("update mode", over.size == 5 and over.rev != hello.rev and over.client_modified.year == 2020)

md, resp = dbx.files_download("/fidelity/hello.txt")
check("download", resp.content == b"HELLO" and md.size == 5 and md.name == "Hello.txt")
md, resp = dbx.files_download("/Fidelity/Hello.txt", extra_headers={"Range": "bytes=1-3"})
check("download Range", resp.status_code == 206 and resp.content == b"ELL", (resp.status_code, resp.content))

# Upload session: start, append_v2 (and a wrong offset), finish.
chunk = bytes(range(256)) * 1024  # 256 KiB
start = dbx.files_upload_session_start(chunk)
cursor = files.UploadSessionCursor(session_id=start.session_id, offset=len(chunk))
dbx.files_upload_session_append_v2(chunk, cursor)
wrong = files.UploadSessionCursor(session_id=start.session_id, offset=len(chunk))
e = expect("append at a wrong offset", exceptions.ApiError, lambda: dbx.files_upload_session_append_v2(chunk, wrong))
check(
    "incorrect_offset union",
    e.error.is_incorrect_offset() and e.error.get_incorrect_offset().correct_offset == 2 * len(chunk),
)
cursor = files.UploadSessionCursor(session_id=start.session_id, offset=2 * len(chunk))
big = dbx.files_upload_session_finish(chunk, cursor, files.CommitInfo(path="/Fidelity/Big.bin"))
check("upload session finish", big.size == 3 * len(chunk), big.size)
check("session content_hash", big.content_hash == sdk_hash(chunk * 3))
stale = files.UploadSessionCursor(session_id=start.session_id, offset=0)
e = expect("finish of a finished session", exceptions.ApiError,
           lambda: dbx.files_upload_session_finish(b"", stale, files.CommitInfo(path="/Fidelity/B2.bin")))
check("lookup_failed not_found", e.error.is_lookup_failed() and e.error.get_lookup_failed().is_not_found())

# Listing with pagination.
for i in range(5):
    dbx.files_upload(b"%d" % i, f"/Fidelity/Page/f{i}.txt")
page = dbx.files_list_folder("/Fidelity/Page", limit=2)
names = [e.name for e in page.entries]
pages = 1
while page.has_more:
    page = dbx.files_list_folder_continue(page.cursor)
    names += [e.name for e in page.entries]
    pages += 1
check("list_folder pagination", pages == 3 and sorted(names) == [f"f{i}.txt" for i in range(5)], (pages, names))
root = dbx.files_list_folder("")
check("list root", [e.name for e in root.entries] == ["Fidelity"] and isinstance(root.entries[0], files.FolderMetadata))
rec = dbx.files_list_folder("/Fidelity", recursive=True)
check("recursive listing", len(rec.entries) == 1 + 1 + 1 + 1 + 5, [e.path_display for e in rec.entries])

moved = dbx.files_move_v2("/Fidelity/Big.bin", "/Fidelity/Page/Big.bin")
check("move_v2", isinstance(moved.metadata, files.FileMetadata) and moved.metadata.id == big.id)
copied = dbx.files_copy_v2("/Fidelity/Page", "/Fidelity/Copy")
check("copy_v2", isinstance(copied.metadata, files.FolderMetadata) and copied.metadata.name == "Copy")
renamed = dbx.files_move_v2("/Fidelity/Copy", "/Fidelity/COPY")
check("case-only rename", renamed.metadata.path_display == "/Fidelity/COPY")
deleted = dbx.files_delete_v2("/Fidelity/COPY")
check("delete_v2", isinstance(deleted.metadata, files.FolderMetadata))

# --- error classes --------------------------------------------------------------------------
e = expect("not found", exceptions.ApiError, lambda: dbx.files_get_metadata("/Fidelity/nope"))
check("LookupError.is_not_found", e.error.is_path() and e.error.get_path().is_not_found())
e = expect("download not found", exceptions.ApiError, lambda: dbx.files_download("/nope"))
check("DownloadError path not_found", e.error.get_path().is_not_found())
e = expect("download a folder", exceptions.ApiError, lambda: dbx.files_download("/Fidelity"))
check("not_file", e.error.get_path().is_not_file())
e = expect("list a file", exceptions.ApiError, lambda: dbx.files_list_folder("/Fidelity/Hello.txt"))
check("not_folder", e.error.get_path().is_not_folder())
e = expect("delete not found", exceptions.ApiError, lambda: dbx.files_delete_v2("/nope"))
check("DeleteError path_lookup", e.error.is_path_lookup() and e.error.get_path_lookup().is_not_found())
e = expect("folder conflict", exceptions.ApiError, lambda: dbx.files_create_folder_v2("/fidelity"))
check("conflict folder", e.error.get_path().is_conflict() and e.error.get_path().get_conflict().is_folder())
e = expect("upload conflict", exceptions.ApiError,
           lambda: dbx.files_upload(b"other", "/Fidelity/Hello.txt", mode=files.WriteMode.add))
check("UploadWriteFailed conflict", e.error.is_path() and e.error.get_path().reason.get_conflict().is_file())
e = expect("move onto a file", exceptions.ApiError,
           lambda: dbx.files_move_v2("/Fidelity/Page/f0.txt", "/Fidelity/Hello.txt"))
check("RelocationError to conflict", e.error.is_to() and e.error.get_to().is_conflict())
e = expect("move missing", exceptions.ApiError, lambda: dbx.files_copy_v2("/nope", "/x"))
check("RelocationError from_lookup", e.error.is_from_lookup() and e.error.get_from_lookup().is_not_found())
e = expect("malformed", exceptions.ApiError, lambda: dbx.files_get_metadata("/a//b"))
check("malformed_path", e.error.get_path().is_malformed_path())
e = expect("disallowed", exceptions.ApiError, lambda: dbx.files_create_folder_v2("/Fidelity/desktop.ini"))
check("disallowed_name", e.error.get_path().is_disallowed_name())
e = expect("reset cursor", exceptions.ApiError, lambda: dbx.files_list_folder_continue("forged-cursor"))
check("ListFolderContinueError reset", e.error.is_reset())
expect("root as slash", exceptions.BadInputError, lambda: dbx.files_list_folder("/"))

# 429 with Retry-After: the SDK waits and retries; with no retries allowed it raises.
control({"fault": "rate_limit", "times": 1, "retry_after": 1, "route": "users/get_current_account"})
t0 = time.monotonic()
dbx.users_get_current_account()
check("429 retried after Retry-After", time.monotonic() - t0 >= 1.0)
control({"fault": "rate_limit", "times": 1, "retry_after": 2, "reason": "too_many_write_operations"})
strict = dbx.clone(max_retries_on_rate_limit=0)
e = expect("RateLimitError", exceptions.RateLimitError, lambda: strict.files_get_metadata("/Fidelity"))
check("RateLimitError backoff", e.backoff == 2 and e.error.reason.is_too_many_write_operations())

# 5xx.
control({"fault": "server_error", "times": 1, "status": 503})
e = expect("InternalServerError", exceptions.InternalServerError,
           lambda: dbx.clone(max_retries_on_error=0).users_get_current_account())
check("5xx status", e.status_code == 503)

# Expired access token: a bare token gives AuthError; the refreshing client refreshes.
token = dbx._oauth2_access_token
control({"fault": "expire_access_tokens"})
bare = dropbox.Dropbox(oauth2_access_token=token, session=session())
e = expect("expired token", exceptions.AuthError, lambda: bare.users_get_current_account())
check("AuthError expired_access_token", e.error.is_expired_access_token())
before = counters()["refreshes"]
dbx.users_get_current_account()
check("refreshed on expired_access_token", counters()["refreshes"] == before + 1)

# Revoke kills the access token and the refresh token.
dbx.auth_token_revoke()
e = expect("revoked token", exceptions.AuthError,
           lambda: dropbox.Dropbox(oauth2_access_token=dbx._oauth2_access_token, session=session()).users_get_current_account())
check("AuthError invalid_access_token", e.error.is_invalid_access_token())
expect("refresh after revoke", exceptions.AuthError, lambda: dbx.refresh_access_token())

# Revoked refresh tokens (the fake's fault): refreshing fails the way Dropbox's invalid_grant does.
control({"fault": "revoke_refresh_tokens"})
other = dropbox.Dropbox(oauth2_refresh_token=nr_result.refresh_token, app_key=APP_KEY, session=session())
expect("revoked refresh token", exceptions.AuthError, lambda: other.check_and_refresh_access_token())

# --- hosts: every route went to the host of its style ---------------------------------------
content_routes = ("/2/files/upload", "/2/files/upload_session/", "/2/files/download")
for host, path in SENT:
    if path.endswith("/oauth2/authorize"):
        want = "www.dropbox.com"
    elif path.startswith(content_routes):
        want = "content.dropboxapi.com"
    else:
        want = "api.dropboxapi.com"
    check(f"host of {path}", host == want, host)

print(f"fidelity: {len(CHECKS)} checks passed, {len(SENT)} requests, SDK {dropbox.__version__}")
