// Check-in page, opened from the stage screen's QR code: counts a delegate as in the room.
import { api, command, config, connect, errorText } from './common.js';
import { t } from './i18n.js';

const slug = config.event_slug;
const TOKEN_KEY = `podium.viewer.${slug}`;
const $ = (id) => document.getElementById(id);

async function viewerToken() {
  const saved = localStorage.getItem(TOKEN_KEY);
  if (saved) return saved;
  const joined = await api('POST', `/events/${encodeURIComponent(slug)}/viewers`, {
    display_name: null,
    channel: 'in_room',
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || null,
  });
  localStorage.setItem(TOKEN_KEY, joined.token);
  localStorage.setItem(`${TOKEN_KEY}.channel`, 'in_room');
  return joined.token;
}

function fail(error) {
  $('checkin-status').textContent = t('We could not check you in.');
  $('checkin-error').textContent = errorText(error);
  $('checkin-error').hidden = false;
}

async function checkIn() {
  let socket;
  try {
    socket = connect('/viewer', { token: await viewerToken() });
  } catch (error) {
    fail(error);
    return;
  }
  socket.on('connect_error', () => {
    localStorage.removeItem(TOKEN_KEY); // a token from an erased or old session: start afresh
    fail({ message: t('Please reload the page to try again.') });
  });
  socket.on('connect', async () => {
    try {
      await command(socket, 'check_in', { room_id: config.room_id });
      $('checkin-status').textContent = t("You're checked in. Thank you!");
    } catch (error) {
      fail(error);
    } finally {
      socket.disconnect();
    }
  });
}

checkIn();
