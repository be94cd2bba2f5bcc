// Keeps a page in step with the server's ordered update stream (see docs/api.md, "Keeping in step").

/**
 * One per socket. Calls `sync` on every (re)connect, buffers pushes that arrive while a
 * sync is in flight, drops what it has already seen, and re-syncs from the last sequence
 * number whenever it notices a gap.
 *
 * handlers: onSnapshot(data), onEntry(entry), onSynced(data) (after every sync, with the
 * extra fields a viewer sync carries), onError(error).
 */
export class LiveState {
  constructor(socket, handlers) {
    this.socket = socket;
    this.handlers = handlers;
    this.lastSeq = null;
    this.syncing = false;
    this.again = false;
    this.buffer = [];
    this.attempt = 0;
    socket.on('connect', () => this.sync());
    socket.on('disconnect', () => {
      // An answer to a sync sent before the drop never comes; start afresh on reconnect.
      this.attempt += 1;
      this.syncing = false;
      this.again = false;
    });
    socket.on('update', (entry) => this.receive(entry));
  }

  sync() {
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = true;
    const attempt = ++this.attempt;
    const payload = this.lastSeq === null ? {} : { since: this.lastSeq };
    this.socket.timeout(15000).emit('sync', payload, (timeoutError, ack) => {
      if (attempt !== this.attempt) return;
      this.syncing = false;
      if (timeoutError || !ack || !ack.ok) {
        this.handlers.onError?.(ack && ack.error ? ack.error : { code: 'timeout', message: 'could not catch up with the server' });
        if (this.socket.connected) setTimeout(() => this.sync(), 3000);
        return;
      }
      this.absorb(ack.data);
      if (this.again) {
        this.again = false;
        this.sync();
      }
    });
  }

  absorb(data) {
    if (data.mode === 'snapshot') {
      this.lastSeq = data.seq;
      this.handlers.onSnapshot(data);
    } else {
      for (const entry of data.entries) this.apply(entry);
      this.lastSeq = Math.max(this.lastSeq ?? 0, data.seq);
    }
    this.handlers.onSynced?.(data);
    const waiting = this.buffer.sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    for (const entry of waiting) this.receive(entry);
  }

  receive(entry) {
    if (this.syncing || this.lastSeq === null) {
      this.buffer.push(entry);
      return;
    }
    if (entry.seq <= this.lastSeq) return;
    if (entry.seq > this.lastSeq + 1) {
      this.buffer.push(entry);
      this.sync();
      return;
    }
    this.apply(entry);
  }

  apply(entry) {
    if (this.lastSeq !== null && entry.seq <= this.lastSeq) return;
    this.lastSeq = entry.seq;
    this.handlers.onEntry(entry);
  }
}
