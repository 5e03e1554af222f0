/** The token form: the token is checked against the server before it is kept (sessionStorage only). */
import { useState } from 'preact/hooks';
import { api, ApiError, signedOutReason, signIn } from '../api';

export const SignIn = () => {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(signedOutReason.value);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const candidate = value.trim();
      await api.check(candidate);
      signIn(candidate);
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? `This token is not accepted: ${failure.message}`
          : String((failure as Error).message),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="container">
      <article>
        <h1>Annals admin</h1>
        <form onSubmit={(event) => void submit(event)}>
          <label for="token">
            Token
            <input
              id="token"
              name="token"
              type="password"
              autocomplete="off"
              required
              value={value}
              onInput={(event) => setValue(event.currentTarget.value)}
              aria-invalid={error === null ? undefined : true}
              aria-describedby="token-help"
            />
            <small id="token-help">A bearer token of this server. It is kept in this tab only, until you sign out or close it.</small>
          </label>
          {error !== null && (
            <p class="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" aria-busy={busy} disabled={busy || value.trim() === ''}>
            Sign in
          </button>
        </form>
      </article>
    </main>
  );
};
