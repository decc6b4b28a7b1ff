#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: brig_limits
short_description: Set or unset resource limits of a brig jail
version_added: "0.1.0"
description:
  - Sets resource limits in a jail's definition with C(brig limits NAME set),
    or removes them with C(brig limits NAME unset); on a running jail brig
    changes its rctl rules, CPUs and bandwidth at once, without a restart.
  - Only the named resources are touched; the definition's other limits stay.
  - brig validates the whole definition before writing it, and a limit
    already at the value asked for changes nothing.
author:
  - brig developers (!UNKNOWN)
options:
  name:
    description:
      - The jail's name.
    type: str
    required: true
  limits:
    description:
      - The limits, each RESOURCE - AMOUNT as C(brig.toml(5)) describes
        them, for example C(memoryuse) - C(1G), C(maxproc) - C(200),
        C(cpus) - C(0-3), C(bandwidth_in) - C(100M).
      - An amount may also be a mapping with C(amount), C(action) and C(per).
      - With O(state=absent) only the names count.
    type: dict
    required: true
  state:
    description:
      - V(present) sets the limits.
      - V(absent) unsets those of the named resources that the jail has.
    type: str
    choices: [present, absent]
    default: present
  brig:
    description:
      - The brig binary to run, a name looked up on E(PATH) or a full path.
    type: str
    default: brig
notes:
  - Set E(BRIG_HOST) with the C(environment) keyword to manage a simulated host.
  - A limit that M(brig.core.brig_jail) also sets through a definition is put
    back by it on each run; let one of the two own it.
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
seealso:
  - module: brig.core.brig_jail
'''

EXAMPLES = r'''
- name: More memory and fewer processes for web
  brig.core.brig_limits:
    name: web
    limits:
      memoryuse: 2G
      maxproc: 200

- name: Log, rather than throttle, reads above 10 MB/s
  brig.core.brig_limits:
    name: web
    limits:
      readbps:
        amount: 10M
        action: log

- name: No CPU pinning any more
  brig.core.brig_limits:
    name: web
    limits:
      cpus:
    state: absent
'''

RETURN = r'''
effect:
  description:
    - What brig said of the change - V(unchanged), V(pending) (check mode),
      V(stopped), V(not-brigs), V(live) or V(live-but-bandwidth) (a
      bandwidth limit that waits for a restart).
  returned: when brig was asked to change something
  type: str
  sample: live
limits:
  description:
    - The jail's limits as C(brig limits NAME --json) shows them afterwards
      (in check mode, before); amounts are numbers, in bytes for sizes.
  returned: always
  type: list
  elements: dict
  sample:
    - resource: memoryuse
      amount: 1073741824
      action: deny
      per_process: false
      active: true
      rule: "jail:web:memoryuse:deny=1073741824"
      usage: 0
cpus:
  description:
    - The jail's CPU list, or null.
  returned: always
  type: str
  sample: "0-3"
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.brig.core.plugins.module_utils.brig import (
    Brig, brig_argument_spec, toml_value)

# rctl's resources counted in bytes (and brig's bandwidth, in bits per
# second), shown with a suffix in a diff so that 1073741824 reads as 1G
# beside the 2G asked for.
SIZES = frozenset(['datasize', 'stacksize', 'coredumpsize', 'memoryuse', 'memorylocked',
                   'vmemoryuse', 'swapuse', 'shmsize', 'msgqsize', 'readbps', 'writebps',
                   'bandwidth_in', 'bandwidth_out'])


def human(resource, amount):
    if resource in SIZES and isinstance(amount, int) and amount > 0:
        for suffix in 'TGMK':
            unit = 1024 ** ('KMGT'.index(suffix) + 1)
            if amount % unit == 0:
                return '%d%s' % (amount // unit, suffix)
    return str(amount)


def current(doc):
    """What the jail has now, one line per resource, for a diff."""
    lines = {}
    for row in doc.get('limits') or []:
        resource = row.get('resource')
        text = human(resource, row.get('amount'))
        if row.get('action') not in (None, 'deny'):
            text += ' (%s)' % row['action']
        if row.get('per_process'):
            text += ' per process'
        lines[resource] = text
    if doc.get('cpus') is not None:
        lines['cpus'] = str(doc['cpus'])
    return lines


def described(amount):
    """An amount asked for, in the words current() uses for brig's."""
    if not isinstance(amount, dict):
        return str(amount)
    text = str(amount.get('amount'))
    if amount.get('action') not in (None, 'deny'):
        text += ' (%s)' % amount['action']
    if amount.get('per') not in (None, 'jail'):
        text += ' per %s' % amount['per']
    return text


def render(lines):
    return ''.join('%s = %s\n' % (k, lines[k]) for k in sorted(lines))


def main():
    module = AnsibleModule(
        argument_spec=brig_argument_spec(
            name=dict(type='str', required=True),
            limits=dict(type='dict', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    brig = Brig(module)
    dry_run = ['--dry-run'] if module.check_mode else []

    before_doc = brig.json('limits', name)
    before = current(before_doc)
    after = dict(before)
    if p['state'] == 'present':
        pairs = []
        for resource, amount in p['limits'].items():
            if amount is None:
                module.fail_json(msg='limits: %s has no amount; use state=absent to unset it'
                                 % resource)
            try:
                value = toml_value(amount)
            except ValueError as e:
                module.fail_json(msg='limits: %s: %s' % (resource, e))
            pairs.append('%s=%s' % (resource, value))
            after[resource] = described(amount)
        doc = brig.json('limits', name, 'set', *(pairs + dry_run))
    else:
        there = [r for r in p['limits'] if r in before]
        if not there:
            module.exit_json(changed=False, limits=before_doc.get('limits') or [],
                             cpus=before_doc.get('cpus'))
        for resource in there:
            del after[resource]
        doc = brig.json('limits', name, 'unset', *(there + dry_run))

    changed = bool(doc.get('changed'))
    result = dict(changed=changed, effect=doc.get('effect'))
    final = before_doc
    if changed and not module.check_mode:
        final = brig.json('limits', name)
    result['limits'] = final.get('limits') or []
    result['cpus'] = final.get('cpus')
    if changed and module._diff:
        result['diff'] = dict(before=render(before), after=render(after),
                              before_header='%s (limits)' % name,
                              after_header='%s (limits)' % name)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
