# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause
"""Shared code of the brig.core modules: running brig and reading its JSON.

Every module talks to brig only through its ``--json`` output, never its
tables, so a change of wording in brig cannot break a module.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import math
import os
import tempfile

# The one JSON format version these modules read; brig prints it in every
# JSON document and raises it when a document changes incompatibly.
JSON_VERSION = 1

# The option every module has: which brig binary to run.
BRIG_ARGUMENT_SPEC = dict(
    brig=dict(type='str', default='brig'),
)


def brig_argument_spec(**spec):
    """The module's own options plus the common ``brig`` one."""
    merged = dict(BRIG_ARGUMENT_SPEC)
    merged.update(spec)
    return merged


def brig_sentence(stderr, rc):
    """brig's own error sentence: stderr without the leading ``brig: ``.

    brig prints one sentence starting with ``brig: `` on failure; an
    argument error from its parser prints several lines instead, which are
    kept whole so that nothing the user needs is lost.
    """
    text = (stderr or '').strip()
    if not text:
        return 'brig exited with status %d and said nothing' % rc
    lines = text.splitlines()
    # A brig that recovered something first says so on a line of its own;
    # the failure is the last line that starts with "brig: ".
    failures = [line for line in lines if line.startswith('brig: ')]
    if failures:
        return failures[-1][len('brig: '):]
    return text


class Brig(object):
    """Runs one brig binary for one module."""

    def __init__(self, module):
        self.module = module
        # get_bin_path accepts a name looked up on PATH or a full path, and
        # fails the module with a clear message when neither is there.
        self.binary = module.get_bin_path(module.params['brig'], required=True)
        # What this module already changed on the host, as sentences such
        # as "jail web was created", and what it would report about it
        # (operations, diff): a later failure must not hide a change that
        # was made, so fail() reports changed=true with these.
        self.done = []
        self.partial = {}

    def did(self, sentence):
        """Note a change made on the host, for a failure after it."""
        self.done.append(sentence)

    def command(self, args):
        return [self.binary] + list(args)

    def run(self, args, parse_json=True, fail=True, undone=None):
        """Run ``brig ARGS``; return (rc, parsed JSON or stdout, stderr).

        A non-zero exit fails the module with brig's sentence unless
        ``fail`` is false; ``undone`` says what that leaves undone after
        the changes already made ("not started").
        """
        cmd = self.command(args)
        rc, out, err = self.module.run_command(cmd)
        if rc != 0:
            if fail:
                self.fail(cmd, rc, out, err, undone=undone)
            return rc, None, err
        if not parse_json:
            return rc, out, err
        return rc, self.parse(cmd, out), err

    def json(self, *args, **kwargs):
        """The JSON document that ``brig ARGS --json`` prints.

        ``--json`` goes before a ``--`` in ARGS: after it, clap reads every
        word as a positional value, so a jail named ``--help`` or ``list``
        is a name there and never a flag or a subcommand.
        """
        args = list(args)
        at = args.index('--') if '--' in args else len(args)
        return self.run(args[:at] + ['--json'] + args[at:], **kwargs)[1]

    def parse(self, cmd, out):
        try:
            doc = json.loads(out)
        except ValueError as e:
            self.fail_json(msg='brig printed something that is not JSON: %s' % e,
                           cmd=' '.join(cmd), stdout=out)
        if not isinstance(doc, dict) or doc.get('version') != JSON_VERSION:
            self.fail_json(
                msg='brig printed JSON of version %r; this collection reads version %d'
                    % (doc.get('version') if isinstance(doc, dict) else None, JSON_VERSION),
                cmd=' '.join(cmd))
        return doc

    def fail(self, cmd, rc, out, err, undone=None, **extra):
        self.fail_json(msg=brig_sentence(err, rc), undone=undone, rc=rc,
                       cmd=' '.join(cmd), stdout=out, stderr=err, **extra)

    def fail_json(self, msg, undone=None, **extra):
        """Fail the module; after a change, say so first and report it.

        "jail j5 was created but not started: <brig's sentence>", with
        changed=true and the partial operations and diff, so that a retry
        or a handler knows the host is no longer as it was.
        """
        if self.done:
            head = ', and '.join(self.done)
            if undone:
                head += ' but ' + undone
            msg = '%s: %s' % (head, msg)
            for key, value in self.partial.items():
                extra.setdefault(key, value)
            extra['changed'] = True
        self.module.fail_json(msg=msg, **extra)

    # What brig reports, by name.

    def jails(self):
        return self.json('list')['jails']

    def jail(self, name):
        """The ``brig list`` row of a jail, or None when there is none."""
        for row in self.jails():
            if row.get('name') == name:
                return row
        return None

    def releases(self):
        return self.json('release', 'list')['releases']

    def check_name(self, name, what='jail'):
        """Refuse a name brig's parser would read as a flag.

        Most commands take it after ``--``; this is for those that cannot
        (``brig limits NAME set``), and says it better than clap would.
        """
        if name.startswith('-'):
            self.fail_json(msg='%s name %r starts with "-", which brig reads as an option'
                           % (what, name))

    def temp_file(self, text, name):
        """A file ``name`` holding ``text`` in a directory of its own in the
        module's temporary directory, which goes when the module exits.

        brig names the file in its errors, so a definition file is named
        after its jail (``web.json``) rather than a random name.
        """
        path = os.path.join(tempfile.mkdtemp(dir=self.module.tmpdir), name)
        with open(path, 'w') as f:
            f.write(text)
        return path


def toml_value(value):
    """A TOML value for ``brig ... KEY=VALUE``, which reads VALUE as TOML.

    Strings are passed as written: brig reads them as TOML when they parse
    (so ``200`` is a number and ``["a"]`` a list, as on the command line)
    and as a string otherwise (``1G``).  Other types are written out as
    TOML, so a YAML list or mapping becomes an array or inline table.
    """
    if isinstance(value, str):
        return value
    return toml_literal(value)


def toml_literal(value):
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError('%r has no TOML form brig accepts' % value)
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string for everything but
        # the characters JSON leaves unescaped and TOML does not allow.
        return json.dumps(value, ensure_ascii=False).replace('\x7f', '\\u007f')
    if isinstance(value, (list, tuple)):
        return '[' + ', '.join(toml_literal(v) for v in value) + ']'
    if isinstance(value, dict):
        return '{ ' + ', '.join('%s = %s' % (toml_key(k), toml_literal(v))
                                for k, v in value.items()) + ' }'
    if value is None:
        raise ValueError('null has no TOML form; leave the key out instead')
    raise ValueError('%r has no TOML form' % (value,))


def toml_key(key):
    key = str(key)
    if key and all(c.isalnum() and c.isascii() or c in '-_' for c in key):
        return key
    return json.dumps(key)


def set_arguments(settings):
    """``--set=KEY=VALUE`` for each item of a dict, in its order.

    One word with ``=``, so that a value starting with ``-`` is never read
    as a flag of brig's.
    """
    return ['--set=%s=%s' % (key, toml_value(value))
            for key, value in (settings or {}).items()]
