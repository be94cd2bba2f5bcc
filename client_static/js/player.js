// Plays one webcast feed in a box: HLS (native or hls.js), YouTube/Vimeo embeds, audio streams.
import { announce, el } from './common.js';
import { t } from './i18n.js';
import { LowDelayView, refusalText } from './whep.js';

const HLS_MIME = 'application/vnd.apple.mpegurl';
const HLS_SCRIPT = new URL('../vendor/hls.min.js', import.meta.url).href;
const SILENT_NOTICE = t("Playing without sound: use the player's sound button to listen.");
let hlsLoading = null;

/** The vendored hls.js (a classic script defining `window.Hls`), loaded on first need only. */
function loadHls() {
  hlsLoading = hlsLoading || new Promise((resolve, reject) => {
    const script = el('script', { src: HLS_SCRIPT });
    script.addEventListener('load', () => resolve(window.Hls));
    script.addEventListener('error', () => { hlsLoading = null; reject(new Error('hls.js did not load')); });
    document.head.append(script);
  });
  return hlsLoading;
}

/**
 * What to play for a room: its main source, or with `audioOnly` its audio feed (else the
 * HLS stream as sound only). `null` when there is nothing to play.
 */
export function choosePlayer(room, { audioOnly = false } = {}) {
  if (!room || !room.source) return null;
  if (!audioOnly) return room.source;
  if (room.audio) return room.audio;
  if (room.source.type === 'hls') return { type: 'audio', format: 'hls', src: room.source.src, label: room.source.label };
  return room.source; // an embed or WebRTC feed has no separate sound: keep the picture
}

const identity = (player) => (player ? `${player.type}|${player.src || player.whep}` : '');

/**
 * One media box. `show(player)` replaces what plays only when the feed changed, keeping the
 * viewer's mute and volume; `onProblem(text | null)` reports trouble to show near the box.
 */
export class Player {
  constructor(box, { name, muted = false, onProblem = () => {} } = {}) {
    this.box = box;
    this.name = name;
    this.onProblem = onProblem;
    this.current = '';
    this.media = null;
    this.hls = null;
    this.sound = { muted, volume: 1 };
    this.silenced = false; // muted by us because the browser refused sound without a click
  }

  show(player) {
    if (identity(player) === this.current) return;
    this.stop();
    this.current = identity(player);
    if (!player) return;
    if (player.type === 'hls') this.playStream(player, 'video');
    else if (player.type === 'audio') this.playStream(player, 'audio');
    else if (player.type === 'embed') this.embed(player);
    else if (player.type === 'webrtc') this.playLowDelay(player);
  }

  /**
   * WebRTC (WHEP) with `player.headers`; when it is refused (full, not allowed) or lost,
   * the room's regular player (`player.fallback`) takes over, and the viewer is told so.
   */
  playLowDelay(player) {
    const wanted = this.current;
    const fallBack = (reason) => {
      if (this.current !== wanted) return;
      this.lowDelay?.stop();
      this.lowDelay = null;
      const regular = player.fallback;
      const text = regular ? `${reason} ${t('Playing the regular stream instead.')}` : reason;
      announce(text);
      if (!regular) this.box.replaceChildren(el('p', { class: 'player__note', text }));
      else if (regular.type === 'embed') this.embed(regular);
      else this.playStream(regular, regular.type === 'audio' ? 'audio' : 'video');
      this.onProblem(text);
    };
    this.lowDelay = new LowDelayView(this.box, {
      name: `${this.name}${player.label ? `: ${player.label}` : ''}`,
      headers: player.headers,
      onLost: () => fallBack(t('The low-delay picture stopped.')),
    });
    this.box.replaceChildren(el('p', { class: 'player__note', text: t('Connecting to the low-delay picture…') }));
    this.lowDelay.start(player.whep)
      .then(() => { if (this.current === wanted) this.onProblem(null); })
      .catch((error) => fallBack(refusalText(error)));
  }

  stop() {
    this.lowDelay?.stop();
    this.lowDelay = null;
    this.hls?.destroy();
    this.hls = null;
    if (this.media) {
      this.media.removeAttribute('src');
      this.media.load(); // releases the network connection of a native player
    }
    this.media = null;
    this.current = '';
    this.box.replaceChildren();
    this.onProblem(null);
  }

  embed(player) {
    const provider = { youtube: 'YouTube', vimeo: 'Vimeo' }[player.provider] || t('Video');
    this.box.replaceChildren(el('iframe', {
      class: 'player__frame',
      src: player.src,
      title: t('%(name)s: %(provider)s player', { name: this.name, provider: player.label || provider }),
      allow: 'autoplay; fullscreen; picture-in-picture',
      allowfullscreen: true,
      referrerpolicy: 'strict-origin-when-cross-origin',
      loading: 'lazy',
    }));
  }

  playStream(player, kind) {
    const media = el(kind, {
      class: `player__${kind}`,
      controls: true,
      playsinline: true,
      preload: 'auto',
      'aria-label': `${this.name}${player.label ? `: ${player.label}` : ''}`,
      dataset: { src: player.src },
    });
    media.muted = this.sound.muted;
    media.volume = this.sound.volume;
    if (this.silenced && media.muted) this.onProblem(SILENT_NOTICE);
    media.addEventListener('volumechange', () => {
      this.sound = { muted: media.muted, volume: media.volume };
      if (!media.muted && this.silenced) {
        this.silenced = false;
        this.onProblem(null);
      }
    });
    media.addEventListener('playing', () => { if (!this.silenced) this.onProblem(null); });
    this.media = media;
    this.box.replaceChildren(kind === 'audio' ? el('div', { class: 'player__sound' }, el('p', { class: 'player__sound-label', text: t('Sound only') }), media) : media);
    const isHls = player.type === 'hls' || player.format === 'hls';
    if (!isHls || media.canPlayType(HLS_MIME)) {
      if (isHls) {
        // Chromium's young native HLS player gives up on streams hls.js plays: fall back once.
        media.addEventListener('error', () => {
          if (this.media === media && !this.hls) this.playWithHlsJs(media, player.src);
        }, { once: true });
      }
      media.src = player.src;
      this.start(media);
      return;
    }
    this.playWithHlsJs(media, player.src);
  }

  playWithHlsJs(media, src) {
    const wanted = this.current;
    media.removeAttribute('src');
    loadHls().then((Hls) => {
      if (this.current !== wanted) return; // another feed was chosen while loading
      if (!Hls.isSupported()) {
        this.onProblem(t('This browser cannot play the stream. Try a recent Firefox, Chrome, Edge or Safari.'));
        return;
      }
      this.attachHls(Hls, media, src);
      this.start(media);
    }).catch(() => this.onProblem(t('The video player did not load. Reload the page to try again.')));
  }

  attachHls(Hls, media, src) {
    // WebVTT subtitles carried in the stream itself become the video's own text tracks,
    // choosable from its controls, beside Podium's live captions.
    const hls = new Hls({
      liveDurationInfinity: true,
      backBufferLength: 30,
      enableWebVTT: true,
      renderTextTracksNatively: true,
    });
    let recoveries = 0;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || this.hls !== hls) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && recoveries < 3) {
        recoveries += 1;
        hls.recoverMediaError();
        return;
      }
      // A live stream that stalls (encoder restart, network blip) usually comes back.
      this.onProblem(t('The stream is not reaching us right now. Retrying…'));
      hls.destroy();
      setTimeout(() => { if (this.hls === hls) this.attachHls(Hls, media, src); }, 3000);
    });
    hls.on(Hls.Events.FRAG_BUFFERED, () => { recoveries = 0; });
    hls.loadSource(src);
    hls.attachMedia(media);
    this.hls = hls;
  }

  /** Autoplay; browsers refuse sound without a click, so fall back to muted playback. */
  start(media) {
    media.play().catch((error) => {
      if (error.name !== 'NotAllowedError' || media.muted || this.media !== media) return;
      this.silenced = true;
      media.muted = true;
      this.onProblem(SILENT_NOTICE);
      media.play().catch(() => {});
    });
  }
}
