// Reference lists used by several pages (roles, units, skills, users),
// loaded once per page view. A list the user may not read resolves to
// {error} instead of failing the whole page.

import { api } from './api.js';
import { sortBy } from './ui.js';

const cache = new Map();

function load(key, path, pick) {
	if (!cache.has(key)) {
		cache.set(key, api.get(path).then((r) => ({ items: pick(r) || [] }),
		    (error) => {
			    cache.delete(key);
			    if (error && error.redirecting)
				    throw error;
			    return { items: [], error };
		    }));
	}
	return cache.get(key);
}

export function invalidate(key) {
	cache.delete(key);
}

export const refs = {
	roles: () => load('roles', '/api/roles', (r) => r.roles),
	units: () => load('units', '/api/units', (r) => r.units),
	skills: () => load('skills', '/api/skills', (r) => sortBy(r.skills || [], (s) => s.name)),
	activeUsers: () => load('users', '/api/users?status=active',
	    (r) => sortBy(r.users || [], (u) => u.name || u.email)),
};

// Units in tree order with their depth: [{unit, depth}], parents first,
// siblings by name. Units whose parent is missing are treated as roots.
export function unitTree(units) {
	const byId = new Map(units.map((u) => [String(u.id), u]));
	const kids = new Map();
	const roots = [];
	for (const u of units) {
		const p = u.parent_id === null || u.parent_id === undefined ? null : String(u.parent_id);
		if (p !== null && byId.has(p) && p !== String(u.id)) {
			if (!kids.has(p))
				kids.set(p, []);
			kids.get(p).push(u);
		} else {
			roots.push(u);
		}
	}
	const out = [];
	const seen = new Set();
	const walk = (list, depth) => {
		for (const u of sortBy(list, (x) => x.name)) {
			if (seen.has(String(u.id)))
				continue;
			seen.add(String(u.id));
			out.push({ unit: u, depth, children: kids.get(String(u.id)) || [] });
			walk(kids.get(String(u.id)) || [], depth + 1);
		}
	};
	walk(roots, 0);
	return out;
}

// Ids of a unit and everything below it.
export function descendants(units, id) {
	const kids = new Map();
	for (const u of units) {
		if (u.parent_id === null || u.parent_id === undefined)
			continue;
		const p = String(u.parent_id);
		if (!kids.has(p))
			kids.set(p, []);
		kids.get(p).push(String(u.id));
	}
	const out = new Set([String(id)]);
	const stack = [String(id)];
	while (stack.length) {
		for (const k of kids.get(stack.pop()) || []) {
			if (!out.has(k)) {
				out.add(k);
				stack.push(k);
			}
		}
	}
	return out;
}
