// For staff: add stage screen and overlay links to each event card (rooms come from the API).
import { api, el } from './common.js';
import { t } from './i18n.js';

for (const card of document.querySelectorAll('.event-card[data-slug]')) {
  const slot = card.querySelector('[data-stage-links]');
  if (!slot) continue;
  const slug = card.dataset.slug;
  api('GET', `/events/${encodeURIComponent(slug)}`).then((detail) => {
    if (!detail.rooms.length) return;
    slot.append(el('ul', { class: 'link-list link-list--small' }, detail.rooms.map((room) => el('li', {},
      el('span', { class: 'muted', text: t('%(room)s: ', { room: room.name }) }),
      el('a', { href: `/e/${slug}/stage/${room.id}`, text: t('Stage screen') }), ' · ',
      el('a', { href: `/e/${slug}/overlay/${room.id}`, text: t('Overlay') })))));
  }).catch(() => { /* the links are a convenience; the card works without them */ });
}
