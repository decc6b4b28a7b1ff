#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: brig_jail
short_description: Define, change, start, stop and destroy a brig jail
version_added: "0.1.0"
description:
  - Makes a FreeBSD jail managed by brig match a definition and a state.
  - A missing jail is created with C(brig create) from O(definition), from
    O(template) or from O(set) alone.
  - An existing jail's definition is replaced with C(brig edit), which is
    validated by brig before it is written; then C(brig apply) makes the
    running jail match it, live where FreeBSD allows.
  - Start, stop and restart look at C(brig list --json) first and act only
    when needed (V(restarted) always restarts).
author:
  - brig developers (!UNKNOWN)
options:
  name:
    description:
      - The jail's name.
    type: str
    required: true
  state:
    description:
      - V(present) defines the jail and leaves it running or not as it is.
      - V(started) and V(stopped) also start or stop it when needed.
      - V(restarted) always restarts it (starts it when it is not running).
      - V(absent) destroys it (C(brig destroy)); see O(force).
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  definition:
    description:
      - The whole definition of the jail, with the keys of C(brig.toml(5)).
      - A mapping is written to a C(.json) file, which brig reads as a
        definition.
      - A string is TOML text, for example from
        C(lookup('ansible.builtin.template', 'web.toml.j2')).
      - Mutually exclusive with O(template).
    type: raw
  template:
    description:
      - A brig template to define the jail from, such as C(tenant) (see
        C(brig template list)); O(set) changes keys of it.
      - Mutually exclusive with O(definition).
    type: str
  set:
    description:
      - Keys to set, each passed as C(--set KEY=VALUE) after O(definition) or
        O(template); dotted keys such as C(limits.memoryuse) or
        C(network.ip4) reach into tables.
      - A string value is passed as written, which brig reads as TOML when it
        parses as TOML (C(200), C(true)) and as a string otherwise (C(1G)); a
        number, boolean, list or mapping is written as TOML.
      - Without O(definition) and O(template), an existing jail keeps the rest
        of its definition and only these keys change.
    type: dict
  release:
    description:
      - The release the jail is made from; the same as O(set) with
        C(release), and it wins over a C(release) in O(definition).
    type: str
  restart_on_change:
    description:
      - Restart the jail when a change of its definition cannot be made live
        (C(brig apply --restart)).
      - When false such a change waits for the next restart, and so do the
        live changes made with it, since brig applies all of a jail's changes
        or none; the module warns.
    type: bool
    default: false
  update_definition:
    description:
      - When false, O(definition), O(template), O(set) and O(release) are used
        only to create a missing jail; an existing jail's definition is left
        as it is.
      - Useful when another task or person owns part of it, for example
        M(brig.core.brig_limits) its limits - a definition from this module
        would otherwise put them back on every run.
    type: bool
    default: true
  force:
    description:
      - With O(state=absent), destroy a running jail too (C(brig destroy --force)).
    type: bool
    default: false
  brig:
    description:
      - The brig binary to run, a name looked up on E(PATH) or a full path.
    type: str
    default: brig
notes:
  - Set E(BRIG_HOST) with the C(environment) keyword to manage a simulated host.
  - In check mode a missing jail is checked with C(brig create --dry-run)
    (its definition, release, name and addresses), an existing one's
    definition with C(brig edit --dry-run) and the running jail with
    C(brig plan).
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
seealso:
  - module: brig.core.brig_limits
  - module: brig.core.brig_info
'''

EXAMPLES = r'''
- name: A customer's jail from brig's tenant template, running
  brig.core.brig_jail:
    name: cust1
    template: tenant
    release: 14.3-RELEASE
    set:
      network.ip4: [192.0.2.21/24]
      limits.memoryuse: 4G
    state: started

- name: A jail from a TOML template of the playbook, restarted when a change needs it
  brig.core.brig_jail:
    name: web
    definition: "{{ lookup('ansible.builtin.template', 'web.toml.j2') }}"
    restart_on_change: true
    state: started

- name: A jail defined by a mapping
  brig.core.brig_jail:
    name: db
    definition:
      release: 14.3-RELEASE
      hostname: db.example.org
      network:
        ip4: [192.0.2.30/24]
      limits:
        memoryuse: 8G
    state: started

- name: Only the hostname of an existing jail
  brig.core.brig_jail:
    name: web
    set:
      hostname: www.example.org

- name: Gone, even while running
  brig.core.brig_jail:
    name: old
    state: absent
    force: true
'''

RETURN = r'''
jail:
  description:
    - The jail's row of C(brig list --json) afterwards (in check mode, as it
      is before); null when it is absent.
  returned: always
  type: dict
  sample:
    name: web
    state: running
    jid: 3
    ip: [192.0.2.10]
    release: 14.3-RELEASE
    type: thin
    boot: false
    managed: true
operations:
  description:
    - The operations C(brig create) made for a new jail, or C(brig apply) on
      the running jail (in check mode, those they would make).
  returned: always
  type: list
  elements: str
  sample: ["jail_set update web host.hostname=www.example.org"]
effect:
  description:
    - What C(brig edit) said of a change of the definition - V(unchanged),
      V(not-running), V(needs-restart), V(live) or V(matches).
  returned: when an existing jail's definition was compared
  type: str
  sample: live
restart:
  description:
    - The parameters whose change needs a restart of the running jail; while
      there are any and O(restart_on_change) is false, nothing is applied to
      it (brig applies all or nothing) and the module warns.
  returned: when an existing jail's definition was compared
  type: list
  elements: str
  sample: ["vnet"]
'''

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.brig.core.plugins.module_utils.brig import (
    Brig, brig_argument_spec, set_arguments, toml_literal)


def definition_arguments(module, brig):
    """The arguments of brig create and brig edit naming the definition."""
    p = module.params
    args = []
    definition = p['definition']
    if isinstance(definition, dict):
        # brig reads a definition file whose name ends in .json as JSON,
        # which spares this module writing TOML for a whole definition.
        text = json.dumps(definition, indent=2) + '\n'
        args = ['--from', brig.temp_file(text, '%s.json' % p['name'])]
    elif isinstance(definition, str):
        text = definition if definition.endswith('\n') else definition + '\n'
        args = ['--from', brig.temp_file(text, '%s.toml' % p['name'])]
    elif definition is not None:
        module.fail_json(msg='definition must be a mapping or a string of TOML, not %s'
                         % type(definition).__name__)
    elif p['template']:
        args = ['--template', p['template']]

    try:
        args += set_arguments(p['set'])
    except ValueError as e:
        module.fail_json(msg='set: %s' % e)
    if p['release']:
        # Quoted, so that a release name is never read as another TOML
        # type; last, so that it wins over the definition and set.
        args += ['--set', 'release=%s' % toml_literal(p['release'])]
    return args


def apply_operations(doc, name):
    for jail in doc.get('jails') or []:
        if jail.get('name') == name:
            return list(jail.get('operations') or []), jail
    return [], None


def main():
    module = AnsibleModule(
        argument_spec=brig_argument_spec(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present',
                       choices=['present', 'absent', 'started', 'stopped', 'restarted']),
            definition=dict(type='raw'),
            template=dict(type='str'),
            set=dict(type='dict'),
            release=dict(type='str'),
            restart_on_change=dict(type='bool', default=False),
            update_definition=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
        ),
        mutually_exclusive=[['definition', 'template']],
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    check = module.check_mode
    brig = Brig(module)

    row = brig.jail(name)
    # A jail running without a definition of brig's is listed too; brig
    # cannot destroy or edit it, only say so when asked to create one.
    defined = row is not None and row.get('managed', True)
    result = dict(changed=False, operations=[])
    diffs = []

    if p['state'] == 'absent':
        if defined:
            diffs.append(dict(before='jail %s (%s)\n' % (name, row_state(row, 'defined')),
                              after='', before_header=name, after_header=name))
            if not check:
                brig.run(['destroy', name] + (['--force'] if p['force'] else []),
                         parse_json=False)
                row = None
            result['changed'] = True
        result['jail'] = row if defined else None
        finish(module, result, diffs)

    wants_definition = (p['definition'] is not None or p['template'] or p['set']
                        or p['release'])
    created = False
    if not defined:
        if not wants_definition:
            module.fail_json(msg='jail %s is not defined; give definition, template or set to create it'
                             % name)
        args = definition_arguments(module, brig)
        # brig checks everything in check mode too (definition, release,
        # addresses), and says the definition it writes or would write.
        made = brig.json('create', name, *(args + (['--dry-run'] if check else [])))
        created = True
        result['changed'] = True
        result['operations'] = made.get('operations') or []
        diffs.append(dict(before='', after=made.get('definition', ''),
                          before_header='%s (definition)' % name,
                          after_header='%s (definition)' % name))
    elif wants_definition and p['update_definition']:
        args = definition_arguments(module, brig)
        edit = brig.json('edit', name, *(args + (['--dry-run'] if check else [])))
        result['effect'] = edit.get('effect')
        if edit.get('changed'):
            result['changed'] = True
            diffs.append(dict(before=edit.get('before', ''), after=edit.get('after', ''),
                              before_header='%s (definition)' % name,
                              after_header='%s (definition)' % name))
        # The plan compares the definition on disk with the machine (after
        # a real edit, the new one). brig apply refuses a jail whose change
        # needs a restart it was not allowed, changing nothing there, so the
        # plan also says whether to run apply at all.
        plan = brig.json('plan', name)
        operations, planned = apply_operations(plan, name)
        # plan and edit name each difference with from, to and why; in
        # check mode only edit knows those of the definition to come.
        restarts = list((planned or {}).get('restart') or [])
        if check:
            restarts += edit.get('restart') or []
        reasons = dict((r.get('param'), '%s %s -> %s: %s' % (r.get('param'), r.get('from'),
                                                             r.get('to'), r.get('why')))
                       for r in restarts)
        waiting = sorted(reasons)
        result['restart'] = waiting
        applies = p['restart_on_change'] or not waiting
        if check:
            result['operations'] = operations if applies else []
            if applies and (operations or waiting):
                result['changed'] = True
        elif applies:
            applied = brig.json('apply', name, *(['--restart'] if p['restart_on_change'] else []))
            result['operations'] = apply_operations(applied, name)[0]
            if applied.get('changed'):
                result['changed'] = True
        if not applies and p['state'] in ('present', 'started'):
            module.warn('jail %s must restart for its definition to take effect (%s); nothing '
                        'was applied to it; set restart_on_change or state=restarted'
                        % (name, '; '.join(reasons[k] for k in waiting)))

    # The jail as it is now: after a real create it is there, stopped; in
    # check mode a jail to be created counts as stopped.
    if created and not check:
        row = brig.jail(name)
    running = row is not None and row.get('state') == 'running'
    before = 'absent' if created else row_state(row, 'stopped')
    action = None
    if p['state'] == 'started' and not running:
        action = 'start'
    elif p['state'] == 'stopped' and running:
        action = 'stop'
    elif p['state'] == 'restarted':
        action = 'restart' if running else 'start'
    if action:
        if not check:
            brig.run([action, name], parse_json=False)
            row = brig.jail(name)
        result['changed'] = True
        after = {'start': 'running', 'stop': 'stopped', 'restart': 'running (restarted)'}[action]
        diffs.append(dict(before='state = %s\n' % before, after='state = %s\n' % after,
                          before_header='%s (state)' % name, after_header='%s (state)' % name))
    elif result['changed'] and not check:
        row = brig.jail(name)
    result['jail'] = row
    finish(module, result, diffs)


def row_state(row, default):
    return (row or {}).get('state') or default


def finish(module, result, diffs):
    # Always a list (Ansible shows each part), so that a registered result
    # reads the same whether the definition, the state or both changed.
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
