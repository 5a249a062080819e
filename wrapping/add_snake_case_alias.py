"""Adds names to an ITK module's generated snake_case_functions tuple (idempotent).

usage: add_snake_case_alias.py SNAKE_CASE_FILE NAME [NAME ...]
"""
import ast
import sys

path, names = sys.argv[1], sys.argv[2:]
with open(path) as f:
    text = f.read()
prefix = "snake_case_functions = "
if not text.startswith(prefix):
    sys.exit(f"{path}: not an ITK snake_case file")
functions = list(ast.literal_eval(text[len(prefix):].strip()))
missing = [n for n in names if n not in functions]
if missing:
    functions = sorted(functions + missing)
    with open(path, "w") as f:
        f.write(prefix + "(" + "".join(f"'{n}', " for n in functions) + ")\n")
