"""A Python WebDAV client (webdav4, on httpx) against the wshost WebDAV door.

Run by tests/tests/webdav_clients.rs with the venv's python:

    webdav_client.py URL USER        (the app password in $WEBDAV_PASSWORD)

URL is a workspace's WebDAV folder (http://HOST/dav/WS/). The script works in URL's `py/`
folder, checks what webdav4 parses out of PROPFIND (names, sizes, ETags, kinds, times), a
PROPPATCH set / get / remove round trip (webdav4 has no PROPPATCH: sent raw with its httpx
client, answers parsed with ElementTree), and ETag conditionals, and leaves `py/` holding
exactly `keep.txt` ("kept\n") and the empty folder `sub/` for the Rust test to check on disk.
It prints one line per check, and "N checks passed" at the end or the failed ones (exit 1);
an error of the client itself (an unexpected status) raises.
"""

import io
import os
import sys
import xml.etree.ElementTree as ET
from datetime import datetime

from webdav4.client import Client, HTTPError, ResourceAlreadyExists

DAV = "DAV:"
NS = "http://example.com/wshost-tests/"
checks = 0
failures = []


def check(what, ok, detail=""):
    """Records a check; a failed one is reported and the script goes on, so one run shows
    every failure."""
    global checks
    checks += 1
    if ok:
        print(f"ok {checks}: {what}")
    else:
        failures.append(what)
        print(f"FAILED {checks}: {what}: {detail}")


def status_of(response_el):
    """The status code of a multistatus <D:status> text ("HTTP/1.1 200 OK" -> 200)."""
    return int(response_el.text.split()[1])


def main():
    url, user = sys.argv[1], sys.argv[2]
    password = os.environ["WEBDAV_PASSWORD"]
    if not url.endswith("/"):
        url += "/"
    client = Client(url, auth=(user, password), retry=False, timeout=60)
    http = client.http

    # --- a small tree, through webdav4 ---
    client.mkdir("py")
    client.mkdir("py/sub")
    files = {
        "py/a.txt": b"hello",
        "py/b.bin": bytes(range(256)) * 400,
        "py/ünïcødé and space.txt": "grüße".encode(),
        "py/empty": b"",
    }
    for path, data in files.items():
        client.upload_fileobj(io.BytesIO(data), path)
    check("exists after upload", all(client.exists(p) for p in files))

    # --- PROPFIND parsing ---
    listing = {e["name"]: e for e in client.ls("py", detail=True)}
    names = sorted(listing)
    want = sorted([*files, "py/sub"])
    check("ls names", names == want, f"{names} != {want}")
    for path, data in files.items():
        e = listing[path]
        check(f"ls size of {path}", e["content_length"] == len(data), e)
        check(f"ls kind of {path}", e["type"] == "file", e)
        check(f"ls etag of {path}", bool(e["etag"]), e)
        check(f"ls modified of {path}", isinstance(e["modified"], datetime), e)
        check(f"ls created of {path}", isinstance(e["created"], datetime), e)
    check("ls kind of py/sub", listing["py/sub"]["type"] == "directory", listing["py/sub"])
    check("isdir", client.isdir("py/sub") and not client.isdir("py/a.txt"))
    check("isfile", client.isfile("py/a.txt"))
    check("content_length", client.content_length("py/b.bin") == len(files["py/b.bin"]))
    info = client.info("py/a.txt")
    head = http.head(client.join_url("py/a.txt"))
    # dav-server writes getetag without the quotes of an entity-tag (RFC 4918 15.6 wants
    # them; the ETag header has them): the tags are compared without quotes.
    check("info etag is the GET/HEAD ETag",
          info["etag"].strip('"') == head.headers["etag"].strip('"'),
          f"{info['etag']} vs {head.headers.get('etag')}")
    check("info of a file", info["type"] == "file" and info["content_length"] == 5,
          info)
    # Distinct content, distinct tags.
    tags = {listing[p]["etag"] for p in files}
    check("etags differ between files", len(tags) == len(files), tags)
    for path, data in files.items():
        out = io.BytesIO()
        client.download_fileobj(path, out)
        check(f"download {path}", out.getvalue() == data)

    # --- PROPPATCH round trip (raw, parsed with ElementTree) ---
    target = client.join_url("py/a.txt")

    def proppatch(body):
        r = http.request("PROPPATCH", target, content=body,
                         headers={"Content-Type": "application/xml"})
        check("PROPPATCH answers 207", r.status_code == 207, f"{r.status_code} {r.text}")
        statuses = [status_of(s) for s in ET.fromstring(r.content).iter(f"{{{DAV}}}status")]
        check("PROPPATCH propstat 200", statuses and all(s == 200 for s in statuses), r.text)

    def propfind_color():
        body = (f'<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:W="{NS}">'
                '<D:prop><W:color/><W:note/></D:prop></D:propfind>')
        r = http.request("PROPFIND", target, content=body,
                         headers={"Depth": "0", "Content-Type": "application/xml"})
        check("PROPFIND of dead props answers 207", r.status_code == 207, r.text)
        found, missing = {}, []
        for propstat in ET.fromstring(r.content).iter(f"{{{DAV}}}propstat"):
            code = status_of(propstat.find(f"{{{DAV}}}status"))
            for prop in propstat.find(f"{{{DAV}}}prop"):
                name = prop.tag.split("}")[1]
                if code == 200:
                    found[name] = (prop.text, [c.tag for c in prop])
                else:
                    missing.append((name, code))
        return found, missing

    proppatch(f'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:W="{NS}">'
              '<D:set><D:prop><W:color>blue &amp; green</W:color>'
              f'<W:note><W:line>first</W:line></W:note></D:prop></D:set></D:propertyupdate>')
    found, missing = propfind_color()
    check("PROPPATCH set: value read back",
          found.get("color", (None,))[0] == "blue & green", (found, missing))
    check("PROPPATCH set: XML value read back",
          found.get("note", (None, []))[1] == [f"{{{NS}}}line"], (found, missing))
    allprop = http.request("PROPFIND", target, headers={"Depth": "0"})
    check("allprop lists the dead property", f"{{{NS}}}color" in
          [p.tag for p in ET.fromstring(allprop.content).iter()], allprop.text)

    proppatch(f'<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:W="{NS}">'
              '<D:remove><D:prop><W:color/></D:prop></D:remove></D:propertyupdate>')
    found, missing = propfind_color()
    # dav-server leaves a property it does not have out of the answer rather than answering
    # it in a 404 propstat (RFC 4918 9.1): gone either way.
    check("PROPPATCH remove: gone", "color" not in found and
          all(code != 200 for name, code in missing if name == "color"), (found, missing))
    check("PROPPATCH remove: the other stays", "note" in found, (found, missing))
    # Properties follow a MOVE.
    client.move("py/a.txt", "py/moved.txt")
    target = client.join_url("py/moved.txt")
    found, _ = propfind_color()
    check("dead property follows MOVE", "note" in found, found)

    # --- ETag conditionals ---
    keep = client.join_url("py/keep.txt")
    r = http.put(keep, content=b"v1")
    check("PUT new", r.status_code == 201, r.status_code)
    etag = http.head(keep).headers["etag"]
    r = http.put(keep, content=b"wrong", headers={"If-Match": '"not-the-etag"'})
    check("PUT If-Match wrong -> 412", r.status_code == 412, r.status_code)
    r = http.put(keep, content=b"v1", headers={"If-None-Match": "*"})
    check("PUT If-None-Match * on existing -> 412", r.status_code == 412, r.status_code)
    check("refused PUTs changed nothing", http.get(keep).content == b"v1")
    r = http.get(keep, headers={"If-None-Match": etag})
    check("GET If-None-Match current -> 304", r.status_code == 304, r.status_code)
    r = http.get(keep, headers={"If-None-Match": '"stale"'})
    check("GET If-None-Match stale -> 200", r.status_code == 200 and r.content == b"v1")
    r = http.put(keep, content=b"kept\n", headers={"If-Match": etag})
    check("PUT If-Match right -> 2xx", r.status_code in (200, 201, 204), r.status_code)
    new_etag = http.head(keep).headers["etag"]
    check("ETag changes with the content", new_etag != etag, (etag, new_etag))
    r = http.put(keep, content=b"late", headers={"If-Match": etag})
    check("PUT If-Match old -> 412", r.status_code == 412, r.status_code)
    r = http.put(client.join_url("py/fresh.txt"), content=b"new",
                 headers={"If-None-Match": "*"})
    check("PUT If-None-Match * on new -> 201", r.status_code == 201, r.status_code)
    r = http.request("DELETE", keep, headers={"If-Match": '"not-the-etag"'})
    check("DELETE If-Match wrong -> 412", r.status_code == 412, r.status_code)

    # --- copy, move, remove through webdav4; leave keep.txt and sub/ ---
    client.copy("py/b.bin", "py/sub/copy.bin")
    check("copy", client.content_length("py/sub/copy.bin") == len(files["py/b.bin"]))
    try:
        client.copy("py/b.bin", "py/sub/copy.bin")
        check("copy onto existing without overwrite refused", False, "no error")
    except ResourceAlreadyExists:
        # webdav4 turns the 412 of a COPY without overwrite into this error.
        check("copy onto existing without overwrite -> 412", True, None)
    for path in ["py/b.bin", "py/moved.txt", "py/empty", "py/fresh.txt",
                 "py/ünïcødé and space.txt", "py/sub/copy.bin"]:
        client.remove(path)
        check(f"remove {path}", not client.exists(path))
    left = sorted(e["name"] for e in client.ls("py", detail=True))
    check("left py/keep.txt and py/sub", left == ["py/keep.txt", "py/sub"], left)
    if failures:
        print(f"{len(failures)} of {checks} checks failed: {failures}")
        sys.exit(1)
    print(f"{checks} checks passed")


if __name__ == "__main__":
    main()
