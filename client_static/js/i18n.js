// The page's language for scripts: the server embeds the messages this page's scripts use,
// in the reader's language, from the same catalogue as the templates (docs/translating.md).

const embedded = document.getElementById('podium-messages');
const data = embedded ? JSON.parse(embedded.textContent) : {};
const messages = data.messages || {};

const language = data.locale || document.documentElement.lang || 'en';

/**
 * The tag for Intl formatters: the reader's own variant of the page's language when the
 * browser names one (en-GB keeps its 24-hour clock), else the page's language.
 */
export const locale = (navigator.languages || []).find((tag) => tag.split('-')[0] === language) || language;

const numbers = new Intl.NumberFormat(locale);
const pluralIndex = compilePlural(data.plural || '(n != 1)');

/** Fill %(name)s placeholders (numbers in the page's style); %% is a percent sign. */
function format(text, params) {
  return text.replace(/%(?:\((\w+)\))?([sd%])/g, (whole, name, kind) => {
    if (kind === '%') return '%';
    if (!name || !(name in params)) return whole;
    const value = params[name];
    return typeof value === 'number' ? numbers.format(value) : String(value);
  });
}

/** The message in the page's language: t('Hello %(name)s', { name }). */
export function t(msgid, params = {}) {
  const found = messages[msgid];
  return format(typeof found === 'string' && found ? found : msgid, params);
}

/** The plural form for `n` (which fills %(num)s): tn('%(num)s vote', '%(num)s votes', n). */
export function tn(singular, plural, n, params = {}) {
  const forms = messages[singular];
  const found = Array.isArray(forms) ? forms[pluralIndex(n)] : '';
  return format(found || (n === 1 ? singular : plural), { num: n, ...params });
}

/**
 * Turn a gettext Plural-Forms expression ("(n != 1)", Welsh's chain of ?:) into a function,
 * with a small parser: the page's content security policy rightly forbids eval.
 */
export function compilePlural(expression) {
  const tokens = expression.match(/\d+|n|==|!=|<=|>=|&&|\|\||[-+*/%<>!?:()]/g) || [];
  let at = 0;
  const peek = () => tokens[at];
  const take = () => tokens[at++];
  const BINARY = {
    '||': [1, (a, b) => a || b], '&&': [2, (a, b) => a && b],
    '==': [3, (a, b) => a === b], '!=': [3, (a, b) => a !== b],
    '<': [4, (a, b) => a < b], '>': [4, (a, b) => a > b], '<=': [4, (a, b) => a <= b], '>=': [4, (a, b) => a >= b],
    '+': [5, (a, b) => a + b], '-': [5, (a, b) => a - b],
    '*': [6, (a, b) => a * b], '/': [6, (a, b) => Math.trunc(a / b)], '%': [6, (a, b) => a % b],
  };
  function primary() {
    const token = take();
    if (token === '(') {
      const inner = ternary();
      take(); // ')'
      return inner;
    }
    if (token === '!') {
      const inner = primary();
      return (n) => Number(!inner(n));
    }
    if (token === 'n') return (n) => n;
    const value = Number(token);
    return () => value;
  }
  function binary(level) {
    let left = primary();
    for (;;) {
      const op = BINARY[peek()];
      if (!op || op[0] < level) return left;
      take();
      const right = binary(op[0] + 1);
      const [, apply] = op;
      const l = left;
      left = (n) => Number(apply(l(n), right(n)));
    }
  }
  function ternary() {
    const test = binary(1);
    if (peek() !== '?') return test;
    take();
    const yes = ternary();
    take(); // ':'
    const no = ternary();
    return (n) => (test(n) ? yes(n) : no(n));
  }
  try {
    const rule = ternary();
    return (n) => rule(Math.abs(Math.trunc(n)));
  } catch {
    return (n) => (n === 1 ? 0 : 1);
  }
}
