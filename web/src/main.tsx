import { render } from 'preact';
import { useState } from 'preact/hooks';
import { KeyField } from './components/KeyField';
import { ModelBanner } from './components/ModelBanner';
import { AdminView } from './views/AdminView';
import { DuplicatesView } from './views/DuplicatesView';
import { SearchView } from './views/SearchView';

function App() {
  const [tab, setTab] = useState<'search' | 'duplicates' | 'admin'>('search');
  return (
    <>
      <header>
        <h1>图片语义搜索</h1>
        <nav aria-label="视图">
          <button type="button" aria-pressed={tab === 'search'} onClick={() => setTab('search')}>
            搜索 Search
          </button>
          <button type="button" aria-pressed={tab === 'duplicates'} onClick={() => setTab('duplicates')}>
            重复 Duplicates
          </button>
          <button type="button" aria-pressed={tab === 'admin'} onClick={() => setTab('admin')}>
            管理 Admin
          </button>
        </nav>
        <KeyField />
      </header>
      <ModelBanner />
      <main>{tab === 'search' ? <SearchView /> : tab === 'duplicates' ? <DuplicatesView /> : <AdminView />}</main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
