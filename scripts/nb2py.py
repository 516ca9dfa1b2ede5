"""Write a notebook's code cells as a plain Python script (IPython magics and shell lines dropped), so a
notebook runs with ``python`` alone: ``python scripts/nb2py.py notebooks/05_gpu_with_cupy.ipynb out.py``."""
import json
import sys


def convert(nb_path):
    with open(nb_path) as fh:
        nb = json.load(fh)
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        out.append("\n".join(line for line in src.split("\n") if not line.lstrip().startswith(("%", "!"))))
    return "\n\n".join(out) + "\n"


if __name__ == "__main__":
    with open(sys.argv[2], "w") as fh:
        fh.write(convert(sys.argv[1]))
