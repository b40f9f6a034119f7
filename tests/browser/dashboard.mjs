#!/usr/bin/env node
// dashboard.mjs — hangar's web UI used as a person would, in Debian's
// headless Chromium driven by playwright-core (no browser of its own: npm
// never downloads one).
//
//   HANGAR_URL=http://127.0.0.1:PORT node dashboard.mjs [SCENARIO...]
//
// Runs the SCENARIOs (default: all, in this order) and prints TAP, one
// "ok N - ..." / "not ok N - ..." line each, with "# " diagnostics (the
// steps taken, the error, the page's URL and console errors) under a
// failure. A failing scenario leaves a full-page screenshot
// fail-SCENARIO.png in $HANGAR_BROWSER_OUT (default: the current
// directory). Exit status: 0 all passed, 1 a scenario failed or Chromium
// did not start, 2 usage error.
//
// Scenarios
//   regression  the overview /, the header's "Flights" link, the flight
//               $HANGAR_REGR_FLIGHT (default 101) in the list; its page says
//               NO PUSH and names the regression: a row of job
//               $HANGAR_REGR_JOB (test-amd64-amd64-xl), step $HANGAR_REGR_STEP
//               (guest-start) and $HANGAR_REGR_TEXT ("REGR. vs. 100")
//   request     the header's "Request" link sends to /login?next=/request;
//               log in with $HANGAR_TOKEN (user $HANGAR_USER, default alice:
//               an HttpOnly session cookie, the user's name in the header);
//               the request form: branch $HANGAR_REQ_BRANCH, jobs
//               $HANGAR_REQ_JOBS (default empty: the branch's job set);
//               submitted, it leads to /flights/N: "Flight N", adhoc,
//               "requested by USER" and the jobs $HANGAR_REQ_EXPECT_JOBS
//               (default $HANGAR_REQ_JOBS) in its table; then N is in the
//               flights list as adhoc. Prints "# requested flight N".
//   evidence    the branch page /branches/$HANGAR_EV_BRANCH (default mv)
//               has an "Evidence" section; its link "flight
//               $HANGAR_EV_FLIGHT" leads to /evidence/REV: the heading
//               "Evidence of ...", requirement $HANGAR_EV_REQ in the
//               requirements' table as verified, with its title
//               $HANGAR_EV_TITLE shown as text (markup in it escaped);
//               printed, the navigation is hidden and the page is a PDF.
//
// Other environment: HANGAR_CHROMIUM (default /usr/bin/chromium),
// HANGAR_BROWSER_TIMEOUT (milliseconds per action, default 10000).
//
// The page may load nothing but the server under test: any request to
// another origin is aborted and fails the scenario.

import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = process.env;
const ACTION_MS = Number(env.HANGAR_BROWSER_TIMEOUT || 10000);
// A whole scenario gets a few actions' worth; the actions' own timeouts
// normally fire first and say which one.
const SCENARIO_MS = ACTION_MS * 6;
const OUT = env.HANGAR_BROWSER_OUT || process.cwd();
const CHROMIUM = env.HANGAR_CHROMIUM || '/usr/bin/chromium';
// This machine's network is closed: without the background-networking flags
// Chromium keeps trying (and failing) to reach Google's services.
const CHROMIUM_ARGS = [
	'--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update',
	'--disable-sync',
];

function usage(msg) {
	console.error(`dashboard.mjs: ${msg}`);
	console.error('usage: HANGAR_URL=http://HOST:PORT node dashboard.mjs [' +
		Object.keys(scenarios).join('|') + ']...');
	process.exit(2);
}

// A scenario's context: the page, and the steps it took (shown on failure).
class Run {
	constructor(page, base) {
		this.page = page;
		this.base = base;
		this.steps = [];
		this.start = Date.now();
	}
	step(what) {
		this.steps.push(`${what} (at ${((Date.now() - this.start) / 1000).toFixed(1)}s)`);
	}
	url(path) {
		return new URL(path, this.base).href;
	}
	// The site's navigation: the header (or its nav).
	nav() {
		return this.page.locator('header, nav').first();
	}
	async clickNav(name) {
		this.step(`click the header link "${name}"`);
		await this.nav().getByRole('link', { name, exact: true }).first().click();
	}
	async waitPath(test, what) {
		this.step(`wait for ${what}`);
		await this.page.waitForURL((u) => test(u), { timeout: ACTION_MS });
	}
	async see(locator, what) {
		this.step(`see ${what}`);
		await locator.first().waitFor({ state: 'visible', timeout: ACTION_MS });
	}
}

function check(cond, msg) {
	if (!cond)
		throw new Error(msg);
}

async function goto(run, path) {
	run.step(`open ${path}`);
	const res = await run.page.goto(run.url(path), { timeout: ACTION_MS });
	check(res && res.ok(), `GET ${path}: HTTP ${res ? res.status() : '(no response)'}`);
}

const scenarios = {
	async regression(run) {
		const { page } = run;
		const flight = env.HANGAR_REGR_FLIGHT || '101';
		const job = env.HANGAR_REGR_JOB || 'test-amd64-amd64-xl';
		const stepName = env.HANGAR_REGR_STEP || 'guest-start';
		const text = env.HANGAR_REGR_TEXT || 'REGR. vs. 100';

		await goto(run, '/');
		await run.clickNav('Flights');
		await run.waitPath((u) => u.pathname === '/flights', 'the flights list /flights');
		await run.see(page.getByRole('heading', { level: 1, name: 'Flights' }),
			'the heading "Flights"');

		run.step(`click the link of flight ${flight}`);
		await page.getByRole('link', { name: flight, exact: true }).first().click();
		await run.waitPath((u) => u.pathname === `/flights/${flight}`, `/flights/${flight}`);
		await run.see(page.getByRole('heading', { level: 1, name: `Flight ${flight}`, exact: true }),
			`the heading "Flight ${flight}"`);
		await run.see(page.getByText(/NO PUSH/), '"NO PUSH"');

		const row = page.getByRole('row')
			.filter({ has: page.getByRole('cell', { name: job, exact: true }) })
			.filter({ has: page.getByRole('cell', { name: stepName, exact: true }) })
			.filter({ hasText: text });
		await run.see(row, `a row with job ${job}, step ${stepName} and "${text}"`);
	},

	async request(run) {
		const { page } = run;
		const token = env.HANGAR_TOKEN;
		const user = env.HANGAR_USER || 'alice';
		const branch = env.HANGAR_REQ_BRANCH;
		const jobs = env.HANGAR_REQ_JOBS || '';
		const expectJobs = (env.HANGAR_REQ_EXPECT_JOBS || jobs).split(/\s+/).filter(Boolean);

		check(token, 'HANGAR_TOKEN is not set');
		check(branch, 'HANGAR_REQ_BRANCH is not set');

		await goto(run, '/');
		await run.clickNav('Request');
		await run.waitPath((u) => u.pathname === '/login' &&
			u.searchParams.get('next') === '/request', '/login?next=/request');

		run.step('type the token and log in');
		const login = page.locator('form[action="/login"]');
		await login.locator('input[type="password"][name="token"]').fill(token);
		await login.getByRole('button', { name: 'Log in', exact: true }).click();
		await run.waitPath((u) => u.pathname === '/request', 'the request form /request');

		const cookies = await page.context().cookies(run.base);
		check(cookies.length > 0, 'no cookie after logging in');
		check(cookies.every((c) => c.httpOnly),
			`a cookie that is not HttpOnly: ${cookies.filter((c) => !c.httpOnly).map((c) => c.name)}`);
		await run.see(run.nav().getByText(user), `"${user}" in the header`);

		const form = page.locator('form#request-form');
		await run.see(form, 'the form #request-form');
		run.step('check its hidden csrf field');
		const csrf = await form.locator('input[type="hidden"][name="csrf"]').inputValue({ timeout: ACTION_MS });
		check(csrf.length > 0, 'the csrf field is empty');

		run.step(`choose the branch ${branch}, jobs "${jobs}", and submit`);
		await form.locator('select[name="branch"]').selectOption(branch);
		await form.locator('input[name="jobs"]').fill(jobs);
		await form.getByRole('button', { name: 'Request', exact: true }).click();

		let flight;
		await run.waitPath((u) => {
			const m = /^\/flights\/(\d+)$/.exec(u.pathname);
			if (m)
				flight = m[1];
			return !!m;
		}, 'the new flight /flights/N');
		console.log(`# requested flight ${flight}`);

		// The page refreshes itself while the flight is unfinished: each
		// check below waits (and so survives a reload).
		await run.see(page.getByRole('heading', { level: 1, name: `Flight ${flight}`, exact: true }),
			`the heading "Flight ${flight}"`);
		await run.see(page.getByText(/adhoc/), '"adhoc"');
		await run.see(page.getByText(`requested by ${user}`), `"requested by ${user}"`);
		for (const j of expectJobs) {
			await run.see(page.getByRole('row').filter({
				has: page.getByRole('rowheader', { name: j, exact: true })
					.or(page.getByRole('cell', { name: j, exact: true })),
			}), `the job ${j} in the jobs' table`);
		}

		await run.clickNav('Flights');
		await run.waitPath((u) => u.pathname === '/flights', 'the flights list /flights');
		await run.see(page.getByRole('row')
			.filter({ has: page.getByRole('link', { name: flight, exact: true }) })
			.filter({ hasText: /adhoc/ }), `flight ${flight} listed as adhoc`);
	},

	async evidence(run) {
		const { page } = run;
		const branch = env.HANGAR_EV_BRANCH || 'mv';
		const flight = env.HANGAR_EV_FLIGHT;
		const req = env.HANGAR_EV_REQ;
		const title = env.HANGAR_EV_TITLE;

		check(flight && req && title, 'HANGAR_EV_FLIGHT, _REQ or _TITLE is not set');
		await goto(run, `/branches/${branch}`);
		await run.see(page.getByRole('heading', { level: 2, name: 'Evidence', exact: true }),
			'the heading "Evidence"');
		run.step(`click the link "flight ${flight}"`);
		await page.getByRole('link', { name: `flight ${flight}`, exact: true }).first().click();
		await run.waitPath((u) => u.pathname.startsWith('/evidence/'), 'the record /evidence/REV');
		await run.see(page.getByRole('heading', { level: 1, name: /^Evidence of / }),
			'the heading "Evidence of ..."');
		const row = page.locator('table.requirements tr')
			.filter({ has: page.getByRole('cell', { name: req, exact: true }) })
			.filter({ has: page.getByRole('cell', { name: 'verified', exact: true }) })
			.filter({ has: page.getByRole('cell', { name: title, exact: true }) });
		await run.see(row, `requirement ${req} verified, titled "${title}" as text`);

		run.step('print it');
		await page.emulateMedia({ media: 'print' });
		check(await page.locator('nav').first().isHidden(), 'the navigation is printed');
		const pdf = await page.pdf({ format: 'A4', timeout: ACTION_MS });
		check(pdf.length > 1000 && pdf.subarray(0, 5).toString() === '%PDF-',
			`not a PDF (${pdf.length} bytes)`);
		await page.emulateMedia({ media: 'screen' });
	},
};

const descriptions = {
	regression: 'overview -> Flights -> the flight with a regression: NO PUSH and the regression named',
	request: 'log in, request an ad-hoc flight through the form, and see the flight',
	evidence: 'branch page -> its last evidence record: requirements verified, printable as a PDF',
};

function diag(lines) {
	for (const l of lines)
		for (const s of String(l).split('\n'))
			console.log(`# ${s.replace(/\x1b\[[0-9;]*m/g, '')}`.trimEnd());
}

function withTimeout(promise, ms, what) {
	let timer;
	const t = new Promise((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: still running after ${ms} ms`)), ms);
	});
	return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

async function main() {
	const names = process.argv.slice(2);
	for (const n of names)
		if (!scenarios[n])
			usage(`unknown scenario '${n}'`);
	const chosen = names.length ? names : Object.keys(scenarios);
	if (!env.HANGAR_URL)
		usage('HANGAR_URL is not set');
	let base;
	try {
		base = new URL(env.HANGAR_URL);
	} catch {
		usage(`HANGAR_URL: not a URL: ${env.HANGAR_URL}`);
	}

	console.log(`1..${chosen.length}`);
	const profile = mkdtempSync(join(tmpdir(), 'hangar-chromium-'));
	let context;
	try {
		context = await chromium.launchPersistentContext(profile, {
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_ARGS,
			timeout: 30000,
			viewport: { width: 1280, height: 900 },
		});
	} catch (e) {
		rmSync(profile, { recursive: true, force: true });
		console.log(`Bail out! cannot start ${CHROMIUM}: ${e.message.split('\n')[0]}`);
		process.exit(1);
	}
	context.setDefaultTimeout(ACTION_MS);
	context.setDefaultNavigationTimeout(ACTION_MS);

	let outside = [];
	await context.route('**/*', (route) => {
		const u = new URL(route.request().url());
		if (u.origin === base.origin)
			return route.continue();
		outside.push(u.href);
		return route.abort();
	});

	let failed = 0;
	for (const [i, name] of chosen.entries()) {
		const n = i + 1;
		await context.clearCookies();
		outside = [];
		const page = context.pages()[0] || await context.newPage();
		const consoleErrors = [];
		const onConsole = (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); };
		const onError = (e) => consoleErrors.push(`page error: ${e.message}`);
		page.on('console', onConsole);
		page.on('pageerror', onError);
		const run = new Run(page, base.href);
		try {
			await withTimeout(scenarios[name](run), SCENARIO_MS, name);
			check(outside.length === 0, `the page requested other origins: ${outside.join(' ')}`);
			console.log(`ok ${n} - ${name}: ${descriptions[name]}`);
		} catch (e) {
			failed++;
			console.log(`not ok ${n} - ${name}: ${descriptions[name]}`);
			diag(['steps:', ...run.steps.map((s, k) => `  ${k + 1}. ${s}`)]);
			diag([`error: ${e.message.split('\n').slice(0, 12).join('\n')}`]);
			diag([`at ${page.url()}`]);
			if (consoleErrors.length)
				diag(['console errors:', ...consoleErrors.slice(0, 5).map((s) => `  ${s}`)]);
			const shot = join(OUT, `fail-${name}.png`);
			try {
				await page.screenshot({ path: shot, fullPage: true, timeout: ACTION_MS });
				diag([`screenshot: ${shot}`]);
			} catch (se) {
				diag([`no screenshot: ${se.message.split('\n')[0]}`]);
			}
		}
		page.off('console', onConsole);
		page.off('pageerror', onError);
	}

	await context.close().catch(() => {});
	rmSync(profile, { recursive: true, force: true });
	process.exit(failed ? 1 : 0);
}

main().catch((e) => {
	console.log(`Bail out! ${e.stack || e}`);
	process.exit(1);
});
