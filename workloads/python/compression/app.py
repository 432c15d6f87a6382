"""SeBS's `311.compression`: a directory of files packed into a zip archive.

The suite downloads a directory from object storage and packs it with
`shutil.make_archive(..., "zip", ...)`, then uploads the archive. The port writes
`files` files of `file_kb` KiB each (text from a seeded generator, as compressible as
prose) into the scratch directory instead, packs them the same way, and reads the archive
back. The answer is what is in the archive (names, sizes, CRC-32s), the same on every
runtime; the archive's size is a metric, since it depends on the zlib build.
"""

import os
import random
import shutil
import time
import zipfile

from owbench_workload import Failed, integer, metric, scratch_dir, workload

WORDS = "the of and to in is that for it as was with be by on not he this are or".split()


@workload(
    name="compression",
    category="disk",
    description="SeBS compression: a directory of files packed into a zip archive (Python)",
    defaults={"files": 8, "file_kb": 256, "seed": 42},
)
def run(params):
    files = integer(params, "files", 1, 1000)
    file_kb = integer(params, "file_kb", 1, 65536)
    rng = random.Random(integer(params, "seed", 0, 2**63 - 1))
    root = os.path.join(scratch_dir(), "compression")
    source = os.path.join(root, "input")
    os.makedirs(source, exist_ok=True)
    for i in range(files):
        words = []
        size = 0
        while size < file_kb * 1024:
            word = rng.choice(WORDS)
            words.append(word)
            size += len(word) + 1
        with open(os.path.join(source, f"file-{i:04}.txt"), "w") as f:
            f.write(" ".join(words)[: file_kb * 1024])
    start = time.perf_counter()
    archive = shutil.make_archive(os.path.join(root, "archive"), "zip", root_dir=source)
    metric("latency", time.perf_counter() - start, "s")
    archive_bytes = os.path.getsize(archive)
    metric("archive_bytes", archive_bytes, "bytes")
    # The names are ASCII; reading them as UTF-8 spares the cp437 codec, which the
    # component's standard library leaves out.
    with zipfile.ZipFile(archive, metadata_encoding="utf-8") as z:
        bad = z.testzip()
        if bad is not None:
            raise Failed(f"the archive's {bad} is damaged")
        entries = sorted((i.filename, i.file_size, i.CRC) for i in z.infolist() if not i.is_dir())
    shutil.rmtree(root)
    return {
        "files": len(entries),
        "bytes_in": sum(size for _, size, _ in entries),
        "entries": [{"name": n, "bytes": s, "crc32": c} for n, s, c in entries],
    }
