"""traum status"""

from __future__ import annotations

from traum.cli.console import out, print_json, safe
from traum.cli.options import Db, Json


def status(db: Db = None, json: Json = False) -> None:
    """What is in the catalog: files by status, the model, where it lives, the last run."""
    from traum import api

    info = api.status(db=db)
    if json:
        print_json(info)
        return
    counts = info["counts"]
    out.print(f"catalog   {safe(info['catalog'])} ({info['catalog_bytes'] / 1e6:.1f} MB)", highlight=False)
    out.print("files     " + ", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)
    out.print(f"samples   {info['stems']} distinct, {info['embedded']} embedded", highlight=False)
    model = info["model"] or {}
    out.print(f"model     {safe(model.get('name', '—'))} {safe('(' + model['id'] + ')') if model.get('id') else ''}",
              highlight=False)
    run = info["last_run"]
    if run:
        out.print(f"last run  {run['elapsed']:.1f} s, {run['files_per_second']} files/s, "
                  f"peak {run['peak_rss_mb']:.0f} MB, error rate {run['error_rate']:.1%}", highlight=False)
