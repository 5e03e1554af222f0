/** Small pieces every page uses: loading data, showing errors, confirming, pretty JSON. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Resource<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` when `key` changes, again every `everyMs` if given; keeps the last data while reloading. */
export const useResource = <T,>(load: () => Promise<T>, key: string, everyMs?: number): Resource<T> => {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let live = true;
    setState((before) => ({ ...before, loading: true }));
    loadRef.current().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState((before) => ({ data: before.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  useEffect(() => {
    if (everyMs === undefined) return;
    const timer = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(timer);
  }, [everyMs, key]);
  return { ...state, reload: useCallback(() => setTick((n) => n + 1), []) };
};

/** An error as a person can read it; a 403 says the token may not see this, without alarm. */
export const ErrorNote = ({ error }: { error: unknown }) => {
  if (error === undefined || error === null) return null;
  if (error instanceof ApiError && error.forbidden)
    return (
      <p class="note" role="status">
        This token may not see this ({error.message}).
      </p>
    );
  const message = error instanceof ApiError ? `${error.message} (${error.code})` : String(error);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
};

export const Json = ({ value }: { value: unknown }) => <pre class="json">{JSON.stringify(value, null, 2)}</pre>;

/** A modal dialog (the native <dialog>: focus kept inside, Escape cancels) asking to confirm an action. */
export const Confirm = ({
  open,
  title,
  children,
  confirmLabel,
  onConfirm,
  onCancel,
}: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) => {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog === null) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={onCancel} onClose={() => open && onCancel()}>
      <article>
        <h2 id="confirm-title">{title}</h2>
        {children}
        <footer>
          <button type="button" class="secondary" onClick={onCancel} autofocus>
            Cancel
          </button>
          <button type="button" class="danger" onClick={onConfirm}>
            {confirmLabel}
          </button>
        </footer>
      </article>
    </dialog>
  );
};

export const formatBytes = (bytes: number | undefined) => {
  if (bytes === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
};

export const formatNumber = (value: number | undefined) => (value === undefined ? '—' : value.toLocaleString('en'));

/** A table's head: one column header per name. */
export const Columns = ({ names }: { names: string[] }) => (
  <thead>
    <tr>
      {names.map((name) => (
        <th scope="col" key={name}>
          {name}
        </th>
      ))}
    </tr>
  </thead>
);

/** One figure of a page's grid of figures; `long` for values that wrap (ids, hosts, times). */
export const Stat = ({ label, value, testId, long }: { label: string; value: string; testId?: string; long?: boolean }) => (
  <article>
    <dl>
      <dt>{label}</dt>
      <dd data-testid={testId} class={long === true ? 'long' : undefined}>
        {value}
      </dd>
    </dl>
  </article>
);

/**
 * Paging by cursor (a read's `next`): the cursor of every page shown so far, the last one the current
 * page's (undefined for the first), so that going back needs no reverse read.
 */
export const usePages = () => {
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  return {
    cursor: cursors[cursors.length - 1],
    first: cursors.length === 1,
    back: () => setCursors(cursors.slice(0, -1)),
    forward: (next: string | undefined) => setCursors([...cursors, next]),
    reset: () => setCursors([undefined]),
  };
};

/** The buttons to the page before and the page after (`next`, absent on the last page). */
export const PageButtons = ({
  pages,
  next,
  label,
  labels = ['Previous', 'Next'],
}: {
  pages: ReturnType<typeof usePages>;
  next: string | undefined;
  label: string;
  labels?: [string, string];
}) => (
  <nav class="row" aria-label={label}>
    <button type="button" class="secondary" disabled={pages.first} onClick={pages.back}>
      {labels[0]}
    </button>
    <button type="button" class="secondary" disabled={next === undefined} onClick={() => pages.forward(next)}>
      {labels[1]}
    </button>
  </nav>
);
