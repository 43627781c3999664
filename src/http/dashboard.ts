/** The web dashboard — being built in its own issue. */
import type { Monitor } from '../monitor.js';
import type { HistoryStore } from '../store/history-store.js';
import type { Router } from './router.js';

export function registerDashboard(_router: Router, _o: { monitor: Monitor; history: HistoryStore }): void {}
