"""Unpacks a zip archive with Python's zipfile (a reader written by others than wshost's).

usage: unzip.py ARCHIVE [DEST]

Checks every entry's CRC (testzip), extracts the archive into DEST if given, and prints one
JSON object: whether the archive has ZIP64 end records,
the archive's comment and, per entry, its name, whether its name is flagged UTF-8, its
compression method and size. Exits non-zero, with the reason, when the archive is broken.
"""

import json
import sys
import zipfile


def main() -> None:
    archive, dest = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
    with open(archive, "rb") as f:
        f.seek(0, 2)
        f.seek(max(0, f.tell() - (1 << 16)))
        # The ZIP64 end of central directory record and its locator.
        zip64 = b"PK\x06\x06" in f.read()
    with zipfile.ZipFile(archive) as z:
        bad = z.testzip()
        if bad is not None:
            sys.exit(f"{archive}: entry {bad!r} fails its CRC check")
        if dest is not None:
            z.extractall(dest)
        entries = [
            {
                "name": i.filename,
                "utf8": bool(i.flag_bits & 0x800),
                "method": {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}.get(
                    i.compress_type, str(i.compress_type)
                ),
                "size": i.file_size,
            }
            for i in z.infolist()
        ]
        comment = z.comment.decode("utf-8", "replace")
        print(json.dumps({"zip64": zip64, "comment": comment, "entries": entries}))


if __name__ == "__main__":
    main()
