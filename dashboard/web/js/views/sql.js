// Placeholder for the SQL view (its own work lands separately and replaces this file).
import {
  h,
} from '../util.js';

export function mount(el) {
  el.append(h('h2', null, 'SQL'), h('p', { class: 'muted' }, 'The SQL view is not in this build yet.'));
  return null;
}
