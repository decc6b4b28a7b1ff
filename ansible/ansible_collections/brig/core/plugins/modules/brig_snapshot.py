#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: brig_snapshot
short_description: Take or destroy a snapshot of a brig jail
version_added: "0.1.0"
description:
  - Takes a named snapshot of a jail's whole tree, its root and delegated
    datasets at one instant (C(brig snapshot create -- NAME SNAP)), or
    destroys it (C(brig snapshot destroy -- NAME SNAP)); the names follow
    C(--), so that a jail named C(list) or C(destroy) is a jail to brig.
  - Looks at C(brig snapshot list NAME --json) first and acts only when needed.
extends_documentation_fragment:
  - brig.core.brig
author:
  - brig developers (!UNKNOWN)
options:
  name:
    description:
      - The jail's name.
    type: str
    required: true
  snapshot:
    description:
      - The snapshot's name.
    type: str
    required: true
  state:
    description:
      - V(present) takes the snapshot when the jail has none of that name.
      - V(absent) destroys it; brig refuses while a clone needs it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: none
'''

EXAMPLES = r'''
- name: A snapshot before the upgrade
  brig.core.brig_snapshot:
    name: web
    snapshot: before-15.0

- name: Not needed any more
  brig.core.brig_snapshot:
    name: web
    snapshot: before-15.0
    state: absent
'''

RETURN = r'''
snapshot:
  description:
    - The snapshot as C(brig snapshot list NAME --json) shows it afterwards
      (in check mode, as it is before), or null when there is none.
  returned: always
  type: dict
  sample:
    name: before-15.0
    created: 1796592333
    used: 0
    clones: []
    missing: []
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.brig.core.plugins.module_utils.brig import (
    Brig, brig_argument_spec)


def find(brig, jail, snapshot):
    for entry in brig.json('snapshot', 'list', '--', jail).get('jails') or []:
        if entry.get('jail') == jail:
            for row in entry.get('snapshots') or []:
                if row.get('name') == snapshot:
                    return row
    return None


def main():
    module = AnsibleModule(
        argument_spec=brig_argument_spec(
            name=dict(type='str', required=True),
            snapshot=dict(type='str', required=True),
            state=dict(type='str', default='present', choices=['present', 'absent']),
        ),
        supports_check_mode=True,
    )
    p = module.params
    brig = Brig(module)
    row = find(brig, p['name'], p['snapshot'])

    if p['state'] == 'present':
        if row is not None:
            module.exit_json(changed=False, snapshot=row)
        if not module.check_mode:
            # The explicit subcommand: `brig snapshot NAME SNAP` reads a jail
            # named create, list, prune or destroy as that subcommand.
            brig.run(['snapshot', 'create', '--', p['name'], p['snapshot']], parse_json=False)
            row = find(brig, p['name'], p['snapshot'])
        module.exit_json(changed=True, snapshot=row)

    if row is None:
        module.exit_json(changed=False, snapshot=None)
    if not module.check_mode:
        brig.run(['snapshot', 'destroy', '--', p['name'], p['snapshot']], parse_json=False)
        row = None
    module.exit_json(changed=True, snapshot=row)


if __name__ == '__main__':
    main()
