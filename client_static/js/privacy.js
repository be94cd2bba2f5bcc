// A viewer's own data: download it, erase it, or register (when the event asks).
import { config, errorText } from './common.js';
import { t } from './i18n.js';

const slug = config.event_slug;
const TOKEN_KEY = `podium.viewer.${slug}`;
const token = localStorage.getItem(TOKEN_KEY);
const base = `${config.api}/events/${encodeURIComponent(slug)}/viewers/me`;
const $ = (id) => document.getElementById(id);
const say = (text) => { $('privacy-status').textContent = text; };

async function call(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw data.error || { message: t('The server answered %(status)s.', { status: response.status }) };
  return data;
}

if (token) {
  $('privacy-joined').hidden = false;
  $('privacy-none').hidden = true;
  $('privacy-download').addEventListener('click', async () => {
    try {
      const data = await call('GET', '/data');
      const text = JSON.stringify(data, null, 2);
      $('privacy-data').textContent = text;
      $('privacy-data').hidden = false;
      const link = document.createElement('a');
      link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      link.download = `${slug}-my-data.json`;
      link.click();
      URL.revokeObjectURL(link.href);
      say(t('Your data is shown below and saved as a file.'));
    } catch (error) {
      say(errorText(error));
    }
  });
  $('privacy-erase').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!$('erase-confirm').checked) {
      say(t('Tick the box to confirm first.'));
      return;
    }
    try {
      await call('DELETE', '');
      say(t('Done: your name, country and registration are erased.'));
    } catch (error) {
      say(errorText(error));
    }
  });
  const form = $('privacy-register');
  if (form) {
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await call('PUT', '/registration', {
          name: form.elements.name.value.trim(),
          organisation: form.elements.organisation.value.trim(),
          accessibility_needs: form.elements.accessibility_needs.value.trim(),
          consent: form.elements.consent.checked,
        });
        say(t('Thank you: you are registered.'));
      } catch (error) {
        say(errorText(error));
      }
    });
  }
}
