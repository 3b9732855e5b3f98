"""Unpacks a zip archive with Python's zipfile (a reader written by others than wshost's).

usage: unzip.py ARCHIVE DEST

Checks every entry's CRC (testzip), extracts the archive into DEST, and prints one JSON object:
the archive's comment and, per entry, its name, whether its name is flagged UTF-8, its
compression method and size. Exits non-zero, with the reason, when the archive is broken.
"""

import json
import sys
import zipfile


def main() -> None:
    archive, dest = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(archive) as z:
        bad = z.testzip()
        if bad is not None:
            sys.exit(f"{archive}: entry {bad!r} fails its CRC check")
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
        print(json.dumps({"comment": z.comment.decode("utf-8", "replace"), "entries": entries}))


if __name__ == "__main__":
    main()
