"""The autograd package's import structure: no module imports one that (directly or not) imports it back,
and the core layers stand bottom up: tensor < graph < engine < ops < function < nn. Function-level imports
count too: a lazy import is still a dependency."""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent / "autograd"


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(module, node):
    """The absolute names an ``import``/``from ... import`` statement in ``module`` refers to."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    package = module.split(".")
    if not MODULES[module].name == "__init__.py":
        package = package[:-1]
    if node.level:
        package = package[:len(package) - (node.level - 1)]
    base = ".".join(package + ([node.module] if node.module else []))
    names = [base]
    for a in node.names:          # ``from . import ops`` names a module too
        if f"{base}.{a.name}" in MODULES:
            names.append(f"{base}.{a.name}")
    return names


MODULES = {_module_name(p): p for p in ROOT.rglob("*.py")}


def _graph():
    edges = {}
    for module, path in MODULES.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in _resolve(module, node):
                    while name and name not in MODULES:
                        name = name.rpartition(".")[0]
                    if name and name != module and name != "autograd" and not module.startswith(name + "."):
                        deps.add(name)
        edges[module] = deps
    return edges


def test_no_import_circle_in_autograd():
    edges = _graph()
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(edges.get(m, ())):
            if state.get(d) == "open":
                cycle = stack[stack.index(d):] + [d]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m)


def test_core_layers_import_only_downwards():
    edges = _graph()
    layers = ["autograd.tensor", "autograd.graph", "autograd.engine", "autograd.ops", "autograd.function",
              "autograd.nn"]

    def layer_of(name):
        for i, prefix in enumerate(layers):
            if name == prefix or name.startswith(prefix + "."):
                return i
        return None

    for module, deps in edges.items():
        mine = layer_of(module)
        if mine is None:
            continue
        for d in deps:
            theirs = layer_of(d)
            assert theirs is None or theirs <= mine, f"{module} (layer {layers[mine]}) imports {d} from above"
