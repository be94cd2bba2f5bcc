// Wires what every page shares: the staff "Log out" button.
import { api, errorText, notify } from './common.js';

const logout = document.getElementById('logout-form');
if (logout) {
  logout.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', '/auth/logout');
    } catch (error) {
      if (error.code !== 'not_authenticated') {
        notify(errorText(error), 'error');
        return;
      }
    }
    window.location.assign('/');
  });
}
