#!/usr/bin/env python3
"""Reads Bulwark's Dockerfile the way `docker build` does, for check.sh.

    dockerfile.py images DOCKERFILE...     one line per image: NAME DOCKERFILE TARGET
    dockerfile.py plan DOCKERFILE TARGET   how to build that image's file system, as JSON
    dockerfile.py ignored CONTEXT PATH     exit 0 when CONTEXT/.dockerignore leaves PATH out

An image is a leaf stage: one that no other stage builds on or copies from
(the last stage is always one). It is named after its stage, or, for an
unnamed last stage, after the Dockerfile's folder. A stage that starts
`FROM <an earlier stage>` holds that stage's steps, then its own: the plan
of an image is its chain of stages back to the first, which must start from
debian:12-slim (check.sh stands that base in with a Debian 12 minbase
tree). The stages it copies from (--from=build) are not run: check.sh takes
their output from a normal build of the repository, and the plan says what
they build (their `cmake --build ... --target` names and where they collect
the migrations).

The plan's steps are what check.sh replays: RUN (as /bin/sh -c, with the
user, environment and working directory in force), COPY, and the final
USER, ENV, WORKDIR, ENTRYPOINT and CMD. Its packages are the ones each RUN
installs: with `apt-get install`, or with a script that an earlier COPY put
in the image from the build context (the repository) and whose only
`apt-get install` installs its arguments ("$@"), as
deploy/images/apt-install.sh does. Anything this reader does not understand
is an error, never skipped, so that the check cannot silently drift from
the Dockerfile.
"""

import json
import os
import re
import shlex
import sys

RUNTIME_BASE = "debian:12-slim"
# The build context: check.sh builds from the repository's root.
CONTEXT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
IGNORED = {"EXPOSE", "STOPSIGNAL", "LABEL", "HEALTHCHECK"}


class DockerfileError(Exception):
    pass


def logical_lines(path):
    """Yields (line number, instruction text) with continuations joined and
    comment lines dropped, as docker's parser does."""
    with open(path, encoding="utf-8") as f:
        raw = f.read().split("\n")
    buf, start = None, 0
    for n, line in enumerate(raw, 1):
        stripped = line.strip()
        if stripped.startswith("#") or (buf is not None and stripped == ""):
            continue
        if buf is None:
            if stripped == "":
                continue
            buf, start = "", n
        if line.rstrip().endswith("\\"):
            buf += line.rstrip()[:-1]
            continue
        buf += line
        yield start, buf.strip()
        buf = None
    if buf is not None:
        raise DockerfileError(f"{path}:{start}: the file ends inside a continued line")


def json_or_shell(args):
    """The exec form (a JSON array) as a list, or None for the shell form."""
    if args.startswith("["):
        try:
            value = json.loads(args)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return None


def expand(value, env):
    """Docker's substitution of $VAR and ${VAR} in ENV, USER, WORKDIR, COPY."""
    def sub(m):
        name = m.group(1) or m.group(2)
        return env.get(name, "")
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, value)


def parse_env(args, env, where):
    words = shlex.split(args)
    if not words:
        raise DockerfileError(f"{where}: ENV without a value")
    if "=" not in words[0]:
        # The old form: ENV KEY the rest of the line.
        key, _, value = args.partition(" ")
        return [(key, expand(value.strip(), env))]
    pairs = []
    for w in words:
        if "=" not in w:
            raise DockerfileError(f"{where}: ENV word {w!r} is not KEY=VALUE")
        key, _, value = w.partition("=")
        pairs.append((key, expand(value, env)))
    return pairs


def parse(path):
    """The stages of a Dockerfile: [{name, base, line, instrs: [(line, INSTR, args)]}]."""
    stages = []
    for line, text in logical_lines(path):
        instr, _, args = text.partition(" ")
        instr, args = instr.upper(), args.strip()
        where = f"{path}:{line}"
        if instr == "FROM":
            words = args.split()
            if any(w.startswith("--") for w in words):
                raise DockerfileError(f"{where}: FROM flags are not supported by this check")
            if len(words) == 3 and words[1].upper() == "AS":
                name = words[2].lower()
            elif len(words) == 1:
                name = None
            else:
                raise DockerfileError(f"{where}: cannot read FROM {args!r}")
            stages.append({"name": name, "base": words[0], "line": line, "instrs": []})
        elif not stages:
            raise DockerfileError(f"{where}: {instr} before the first FROM")
        else:
            stages[-1]["instrs"].append((line, instr, args))
    if not stages:
        raise DockerfileError(f"{path}: no FROM")
    return stages


def copy_from(args):
    """COPY's --from stage, or None."""
    for w in shlex.split(args):
        if w.startswith("--from="):
            return w[len("--from="):].lower()
    return None


def stage_index(stages, name, where):
    for i, s in enumerate(stages):
        if s["name"] == name:
            return i
    raise DockerfileError(f"{where}: no stage named {name!r}")


def images(path):
    stages = parse(path)
    used = set()
    for i, s in enumerate(stages):
        if s["base"].lower() in {x["name"] for x in stages[:i] if x["name"]}:
            used.add(stage_index(stages, s["base"].lower(), path))
        for line, instr, args in s["instrs"]:
            if instr == "COPY" and copy_from(args):
                used.add(stage_index(stages, copy_from(args), f"{path}:{line}"))
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    out = []
    for i, s in enumerate(stages):
        last = i == len(stages) - 1
        if i in used and not last:
            continue
        if s["name"]:
            out.append((s["name"], s["name"]))
        else:
            out.append((folder, ""))
    return out


def build_stage_outputs(stages, index, path):
    """What a build stage makes: its cmake targets and its migrations folder."""
    targets, migrations = [], None
    for line, instr, args in stages[index]["instrs"]:
        if instr != "RUN":
            continue
        for m in re.finditer(r"--target((?:\s+[A-Za-z0-9_.+-]+)+)", args):
            targets += [t for t in m.group(1).split() if not t.startswith("-")]
        m = re.search(r"deploy/collect-migrations\.sh\s+(\S+)", args)
        if m:
            migrations = m.group(1)
    return {"stage": stages[index]["name"], "targets": targets, "migrations": migrations}


def commands(cmd, where):
    """The simple commands of a shell text, as word lists without their leading
    VAR=value assignments (comments dropped)."""
    for part in re.split(r"&&|\|\||;|\n|\|", cmd):
        try:
            words = shlex.split(part, comments=True)
        except ValueError as e:
            raise DockerfileError(f"{where}: cannot split {part!r}: {e}")
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words = words[1:]
        if words:
            yield words


def apt_packages(cmd, where, errors):
    """The packages every `apt-get install` in a shell command names."""
    pkgs = []
    for words in commands(cmd, where):
        if len(words) < 2 or words[0] not in ("apt-get", "apt") or "install" not in words:
            continue
        opts = [w for w in words[words.index("install") + 1:] if w.startswith("-")]
        if "--no-install-recommends" not in opts:
            errors.append(f"{where}: apt-get install without --no-install-recommends "
                          "brings packages that nothing asked for")
        pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


def installer(src, where, errors):
    """Whether the context's file src installs its arguments as packages: its
    one `apt-get install` names "$@" and nothing else."""
    path = os.path.join(CONTEXT, src)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return False
    pkgs = apt_packages(text, f"{src} (run at {where})", errors)
    if not pkgs:
        return False
    if pkgs != ["$@"]:
        raise DockerfileError(f"{where}: {src} installs {pkgs}, not its arguments (\"$@\"): "
                              "this check cannot tell which packages a RUN of it installs")
    return True


def resolve(word, env, files):
    """The image path a RUN's command word runs, among files, or None."""
    if "/" in word:
        return os.path.normpath(word) if os.path.normpath(word) in files else None
    for d in env.get("PATH", "").split(":"):
        cand = os.path.normpath(os.path.join(d or "/", word))
        if cand in files:
            return cand
    return None


def run_packages(cmd, where, env, files, errors):
    """The packages a RUN installs: apt-get's, and those it names to a script
    from the context (files: image path -> context path) that installs its
    arguments."""
    pkgs = apt_packages(cmd, where, errors)
    for words in commands(cmd, where):
        path = resolve(words[0], env, files)
        if path and installer(files[path], where, errors):
            args = [w for w in words[1:] if not w.startswith("-")]
            if len(args) != len(words) - 1:
                raise DockerfileError(f"{where}: options to {words[0]} are not understood by "
                                      "this check")
            pkgs += args
    return pkgs


def plan(path, target):
    stages = parse(path)
    if target:
        index = stage_index(stages, target.lower(), path)
    else:
        index = len(stages) - 1
    chain = []
    i = index
    while True:
        chain.insert(0, i)
        base = stages[i]["base"].lower()
        names = [s["name"] for s in stages[:i]]
        if base in names:
            i = names.index(base)
            continue
        if base != RUNTIME_BASE:
            raise DockerfileError(
                f"{path}:{stages[i]['line']}: a runtime stage must start from {RUNTIME_BASE}, "
                f"not {stages[i]['base']}: check.sh can only stand that base in")
        break

    env = dict(DEFAULT_ENV)
    user, workdir = "root", "/"
    entrypoint, cmd = [], []
    steps, packages, errors, builds = [], [], [], {}
    files = {}  # image path -> context path, of the files COPY took from the context
    for si in chain:
        for line, instr, args in stages[si]["instrs"]:
            where = f"{path}:{line}"
            if instr == "RUN":
                argv = json_or_shell(args) or ["/bin/sh", "-c", args]
                packages += run_packages(args, where, env, files, errors)
                steps.append({"op": "RUN", "line": line, "argv": argv, "user": user,
                              "env": dict(env), "workdir": workdir})
            elif instr == "COPY":
                words = shlex.split(args)
                flags = {}
                while words and words[0].startswith("--"):
                    key, _, value = words.pop(0)[2:].partition("=")
                    flags[key] = value
                unknown = set(flags) - {"from", "chown", "chmod"}
                if unknown:
                    raise DockerfileError(f"{where}: COPY flags {sorted(unknown)} are not supported")
                if len(words) < 2:
                    raise DockerfileError(f"{where}: COPY needs a source and a destination")
                srcs, dest = [expand(w, env) for w in words[:-1]], expand(words[-1], env)
                if any(ch in s for s in srcs for ch in "*?["):
                    raise DockerfileError(f"{where}: COPY wildcards are not supported by this check")
                if not dest.startswith("/"):
                    dest = os.path.join(workdir, dest) + ("/" if dest.endswith("/") else "")
                if len(srcs) > 1 and not dest.endswith("/"):
                    raise DockerfileError(f"{where}: COPY of several sources needs a destination ending in /")
                src_stage = flags.get("from")
                if src_stage:
                    sj = stage_index(stages, src_stage, where)
                    builds[src_stage] = build_stage_outputs(stages, sj, path)
                else:
                    for src in srcs:
                        to = dest + os.path.basename(src.rstrip("/")) if dest.endswith("/") else dest
                        files[os.path.normpath(to)] = os.path.normpath(src)
                steps.append({"op": "COPY", "line": line, "from": src_stage, "srcs": srcs,
                              "dest": dest, "chown": flags.get("chown"), "chmod": flags.get("chmod")})
            elif instr == "USER":
                user = expand(args, env)
            elif instr == "ENV":
                for key, value in parse_env(args, env, where):
                    env[key] = value
            elif instr == "WORKDIR":
                workdir = os.path.join(workdir, expand(args, env))
                steps.append({"op": "WORKDIR", "line": line, "path": workdir})
            elif instr == "ENTRYPOINT":
                entrypoint = json_or_shell(args) or ["/bin/sh", "-c", args]
                cmd = []
            elif instr == "CMD":
                cmd = json_or_shell(args) or ["/bin/sh", "-c", args]
            elif instr in IGNORED:
                pass
            else:
                raise DockerfileError(f"{where}: {instr} is not understood by this check; teach "
                                      "deploy/images/dockerfile.py what docker does with it")
    # The leading steps check.sh may take from its cache: the RUN lines and
    # the copies from the context before the first copy from a build stage.
    cached = 0
    while cached < len(steps) and (steps[cached]["op"] == "RUN" or (
            steps[cached]["op"] == "COPY" and not steps[cached]["from"])):
        cached += 1
    if not entrypoint and not cmd:
        errors.append(f"{path}: the image has neither ENTRYPOINT nor CMD")
    return {
        "dockerfile": path,
        "target": target,
        "steps": steps,
        "cached_steps": cached,
        "user": user,
        "env": env,
        "workdir": workdir,
        "entrypoint": entrypoint,
        "cmd": cmd,
        "packages": packages,
        "builds": list(builds.values()),
        "errors": errors,
    }


def dockerignore_regex(pattern):
    """A .dockerignore pattern as a regular expression over slash paths:
    `*` and `?` stay within one path element, `**` crosses any number."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def ignored(context, path):
    """Whether docker leaves PATH (relative to CONTEXT) out of the build
    context: the last pattern of .dockerignore that matches it or one of its
    parent folders decides, a pattern starting with ! letting it back in."""
    try:
        with open(os.path.join(context, ".dockerignore"), encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        return False
    path = os.path.normpath(path).lstrip("/")
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    result = False
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = os.path.normpath(line[1:] if negate else line).lstrip("/")
        rx = dockerignore_regex(pattern)
        if any(rx.match(p) for p in prefixes):
            result = not negate
    return result


def main(argv):
    try:
        if len(argv) >= 2 and argv[0] == "images":
            for path in argv[1:]:
                for name, target in images(path):
                    print(name, path, target or "-")
            return 0
        if len(argv) == 3 and argv[0] == "ignored":
            return 0 if ignored(argv[1], argv[2]) else 1
        if len(argv) in (2, 3) and argv[0] == "plan":
            target = argv[2] if len(argv) == 3 and argv[2] != "-" else ""
            json.dump(plan(argv[1], target), sys.stdout, indent=1)
            print()
            return 0
    except DockerfileError as e:
        print(f"dockerfile.py: {e}", file=sys.stderr)
        return 1
    print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
