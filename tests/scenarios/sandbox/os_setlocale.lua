-- expect: field 'setlocale'
os.setlocale('C')
