/** The admin UI of Annals (DESIGN.md section 12): sign in, then pages chosen by the location's hash. */
import '@picocss/pico/css/pico.min.css';
import './app.css';
import { signal } from '@preact/signals';
import { render } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { signOut, token } from './api';
import { Dashboard } from './pages/dashboard';
import { Groups } from './pages/groups';
import { Projections } from './pages/projections';
import { SignIn } from './pages/sign-in';
import { Stream, Streams } from './pages/streams';
import { Tail } from './pages/tail';

const route = signal(location.hash);
addEventListener('hashchange', () => (route.value = location.hash));

const pages = [
  { href: '#/', label: 'Dashboard' },
  { href: '#/streams', label: 'Streams' },
  { href: '#/tail', label: 'Live tail' },
  { href: '#/groups', label: 'Groups' },
  { href: '#/projections', label: 'Projections' },
];

const Page = ({ hash }: { hash: string }) => {
  const [, page = '', ...rest] = hash.replace(/^#/, '').split('/');
  const name = rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined;
  switch (page) {
    case 'streams':
      return name === undefined ? <Streams /> : <Stream name={name} />;
    case 'tail':
      return <Tail />;
    case 'groups':
      return <Groups name={name} />;
    case 'projections':
      return <Projections name={name} />;
    default:
      return <Dashboard />;
  }
};

const App = () => {
  const hash = route.value;
  const main = useRef<HTMLElement>(null);
  // A new page: move focus to it, as a screen reader user expects after following a link.
  useEffect(() => main.current?.focus(), [hash]);
  if (token.value === null) return <SignIn />;
  const current = `#/${hash.replace(/^#\/?/, '').split('/')[0] ?? ''}`;
  return (
    <>
      <header class="container">
        <nav aria-label="Main">
          <ul>
            <li>
              <strong>Annals</strong>
            </li>
          </ul>
          <ul>
            {pages.map(({ href, label }) => (
              <li key={href}>
                <a href={href} aria-current={current === href ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
            <li>
              <button type="button" class="outline secondary" onClick={() => signOut()}>
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container" ref={main} tabIndex={-1}>
        <Page hash={hash} />
      </main>
    </>
  );
};

render(<App />, document.getElementById('app')!);
