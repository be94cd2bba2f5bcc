import { api, clearFieldErrors, config, showFieldErrors } from './common.js';
import { t } from './i18n.js';

const form = document.getElementById('login-form');
const summary = document.getElementById('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearFieldErrors(form);
  const username = form.elements.username.value.trim();
  const password = form.elements.password.value;
  if (!username || !password) {
    summary.textContent = t('Enter your username and password.');
    summary.hidden = false;
    (username ? form.elements.password : form.elements.username).focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await api('POST', '/auth/login', { username, password });
    window.location.assign(config.next || '/');
  } catch (error) {
    showFieldErrors(form, error, summary);
    button.disabled = false;
  }
});
document.getElementById('username').focus();
